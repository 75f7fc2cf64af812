"""Runs transformers' own Qwen3-Next blocks on tiny random shapes and saves what zen's blocks must reproduce.

usage: qwen3_next_blocks.py OUT_DIR
For each block NAME in norm, attention, gdn_short (T=37), gdn_long (T=150), moe it writes
OUT_DIR/NAME.params.safetensors (the block's parameters under transformers' names; the MoE's fused experts
written per expert, as the Hub checkpoints hold them) and OUT_DIR/NAME.io.safetensors: x (the input),
dy (a random upstream gradient), y (the output), grad.x and grad.<param> (the gradients of sum(y * dy)).
Every parameter is randomised, norms, gates, A_log and dt_bias included, so each term moves the output.
The attention's rotary tables come from Qwen3NextRotaryEmbedding at positions 0..T-1.
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the kernel hub lookups must not wait on the network
import sys

import torch
from safetensors.torch import save_file
from transformers import Qwen3NextConfig
from transformers.models.qwen3_next import modeling_qwen3_next as m


def tiny_config():
    return Qwen3NextConfig(
        vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.25},
        linear_conv_kernel_dim=4, linear_key_head_dim=8, linear_value_head_dim=12,
        linear_num_key_heads=2, linear_num_value_heads=4,
        num_experts=4, num_experts_per_tok=2, moe_intermediate_size=16, shared_expert_intermediate_size=24,
        rms_norm_eps=1e-6, attention_dropout=0.0)


def randomize(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("A_log"):
                p.copy_(torch.empty_like(p).uniform_(0.01, 16).log())  # HF's init range
            elif name.endswith("dt_bias"):
                p.copy_(1.0 + 0.5 * torch.randn_like(p))
            elif "norm" in name:
                p.copy_(0.3 * torch.randn_like(p) + (1.0 if name == "norm.weight" else 0.0))
            else:
                p.normal_(0.0, 0.2)


def expert_names(params):
    """Qwen3NextExperts' fused gate_up_proj (E, 2I, H) and down_proj (E, H, I) as the Hub's per-expert tensors."""
    out = {}
    for name, t in params.items():
        if name == "experts.gate_up_proj":
            gate, up = t.chunk(2, dim=1)
            for e in range(t.shape[0]):
                out[f"experts.{e}.gate_proj.weight"] = gate[e]
                out[f"experts.{e}.up_proj.weight"] = up[e]
        elif name == "experts.down_proj":
            for e in range(t.shape[0]):
                out[f"experts.{e}.down_proj.weight"] = t[e]
        else:
            out[name] = t
    return out


def run(out, name, module, x, forward):
    randomize(module)
    x = x.clone().requires_grad_(True)
    y = forward(module, x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    params = {n: p.detach().clone().contiguous() for n, p in module.named_parameters()}
    grads = {n: p.grad.detach().clone().contiguous() for n, p in module.named_parameters()}
    io = {"x": x.detach(), "dy": dy, "y": y.detach().contiguous(), "grad.x": x.grad.detach()}
    io.update({"grad." + n: g for n, g in expert_names(grads).items()})
    save_file(expert_names(params), os.path.join(out, name + ".params.safetensors"))
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out, name + ".io.safetensors"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20)
    config = tiny_config()
    config._attn_implementation = "eager"
    hidden = config.hidden_size

    run(out, "norm", m.Qwen3NextRMSNorm(hidden, eps=config.rms_norm_eps), torch.randn(2, 5, hidden),
        lambda mod, x: mod(x))

    rotary = m.Qwen3NextRotaryEmbedding(config)

    def attend(mod, x):
        t = x.shape[1]
        positions = torch.arange(t).unsqueeze(0).expand(x.shape[0], t)
        mask = torch.full((t, t), float("-inf")).triu(1)[None, None]
        return mod(x, position_embeddings=rotary(x, positions), attention_mask=mask)[0]

    run(out, "attention", m.Qwen3NextAttention(config, layer_idx=3), torch.randn(2, 7, hidden), attend)

    for name, t in (("gdn_short", 37), ("gdn_long", 150)):
        run(out, name, m.Qwen3NextGatedDeltaNet(config, layer_idx=0), torch.randn(2, t, hidden),
            lambda mod, x: mod(x))

    run(out, "moe", m.Qwen3NextSparseMoeBlock(config), torch.randn(2, 5, hidden), lambda mod, x: mod(x))


if __name__ == "__main__":
    main()
