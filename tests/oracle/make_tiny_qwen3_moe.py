"""Builds a tiny random Qwen3MoeForCausalLM with Hugging Face transformers and saves what zen must reproduce.

usage: make_tiny_qwen3_moe.py OUT_DIR [--sparse-step S] [--vocab V]
writes OUT_DIR/model/ (config.json + model.safetensors in the Hub checkpoints' per-expert layout:
mlp.experts.{e}.{gate,up,down}_proj.weight, which transformers 5 fuses on load) and
OUT_DIR/fixture.safetensors: input_ids (2, 12) int64, logits (2, 12, vocab) f32, loss () f32 (the mean
next-token loss, router aux loss off), and aux_hf () f32: the sum over MoE layers of transformers'
load_balancing_loss_func on that layer's router logits alone.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file
from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM
from transformers.models.qwen3_moe.modeling_qwen3_moe import load_balancing_loss_func


def hub_state_dict(model, config):
    """transformers 5 keeps experts fused as (E, 2F, C) / (E, C, F); the Hub files hold one tensor per expert."""
    out = {}
    f = config.moe_intermediate_size
    for name, p in model.state_dict().items():
        if name.endswith("mlp.experts.gate_up_proj"):
            prefix = name[: -len("gate_up_proj")]
            for e in range(p.shape[0]):
                out[f"{prefix}{e}.gate_proj.weight"] = p[e, :f].contiguous()
                out[f"{prefix}{e}.up_proj.weight"] = p[e, f:].contiguous()
        elif name.endswith("mlp.experts.down_proj"):
            prefix = name[: -len("down_proj")]
            for e in range(p.shape[0]):
                out[f"{prefix}{e}.down_proj.weight"] = p[e].contiguous()
        elif name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        else:
            out[name] = p.contiguous()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--sparse-step", type=int, default=1)
    parser.add_argument("--vocab", type=int, default=128)  # >= 259 for zen's byte-level demo task
    args = parser.parse_args()

    torch.manual_seed(4321)
    config = Qwen3MoeConfig(
        vocab_size=args.vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1e6,
        tie_word_embeddings=False, decoder_sparse_step=args.sparse_step, moe_intermediate_size=32,
        num_experts=4, num_experts_per_tok=2, norm_topk_prob=True, output_router_logits=False,
        mlp_only_layers=[])
    model = Qwen3MoeForCausalLM(config).to(torch.float32)
    model.config._attn_implementation = "eager"
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("mlp.gate.weight"):
                p.normal_(0.0, 0.5)  # a decided router: ties in top-k would make the comparison ambiguous
            else:
                p.normal_(0.0, 0.15)
    model.eval()
    model_dir = os.path.join(args.out_dir, "model")
    os.makedirs(model_dir, exist_ok=True)
    save_file(hub_state_dict(model, config), os.path.join(model_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config.to_dict(), f, indent=2, default=str)

    input_ids = torch.randint(0, config.vocab_size, (2, 12), dtype=torch.int64)
    with torch.no_grad():
        out = model(input_ids=input_ids, labels=input_ids)
        routed = model(input_ids=input_ids, output_router_logits=True)
    k, experts = config.num_experts_per_tok, config.num_experts
    aux = sum(load_balancing_loss_func((logits,), experts, k) for logits in routed.router_logits)
    save_file({"input_ids": input_ids.contiguous(), "logits": out.logits.float().contiguous(),
               "loss": out.loss.float().reshape(()).contiguous(),
               "aux_hf": torch.as_tensor(aux, dtype=torch.float32).reshape(()).contiguous()},
              os.path.join(args.out_dir, "fixture.safetensors"))
    print("moe layers", len(routed.router_logits), "loss", out.loss.item(), "aux_hf", float(aux))


if __name__ == "__main__":
    main()
