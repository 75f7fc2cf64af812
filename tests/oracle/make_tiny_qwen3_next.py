"""Builds a tiny random Qwen3NextForCausalLM with Hugging Face transformers and saves what zen must reproduce.

usage: make_tiny_qwen3_next.py OUT_DIR [--vocab V] [--oracle-dir DIR]
The shapes are this test's own: 4 layers (full_attention_interval 2: Gated DeltaNet, gated attention, twice),
4 query / 2 KV heads of head_dim 16 with partial_rotary_factor 0.5, 2 linear key heads of dim 16 and 4 value
heads of dim 8 (so value and key widths differ), 4 experts top-2 of width 32 and a gated shared expert of 24.
Norms (zero-centred offsets and the gated norm), the router, the shared-expert gate, A_log, dt_bias and the
conv are randomised. Writes OUT_DIR/model/ (config.json + model.safetensors in the Hub layout: experts per
expert, plus two mtp.* tensors as the released checkpoint carries, which transformers and zen skip) and
OUT_DIR/fixture.safetensors: input_ids (2, 70) int64 (70 is not a multiple of the chunk of 64), logits
(2, 70, V) f32 and loss () f32 (mean next-token loss).
DIR (default: this file's folder) holds make_tiny_qwen3_moe.py, whose per-expert layout this reuses.
"""
import argparse
import json
import math
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import Qwen3NextConfig, Qwen3NextForCausalLM


def randomise(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("linear_attn.norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))  # RMSNormGated: plain weight
            elif name.endswith("norm.weight"):
                p.copy_(0.2 * torch.randn_like(p))  # zero-centred: the offset w of (1 + w)
            elif name.endswith("A_log"):
                p.copy_(torch.empty_like(p).uniform_(0.5, 8.0).log())
            elif name.endswith("dt_bias"):
                p.copy_(0.5 * torch.randn_like(p))
            elif name.endswith("mlp.gate.weight") or name.endswith("shared_expert_gate.weight"):
                p.normal_(0.0, 0.5)  # a decided router: ties in top-k would make the comparison ambiguous
            elif name.endswith("conv1d.weight"):
                p.normal_(0.0, 0.3)
            else:
                p.normal_(0.0, 0.15)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--vocab", type=int, default=128)  # >= 259 for zen's byte-level demo task
    parser.add_argument("--oracle-dir", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    sys.path.insert(0, args.oracle_dir)
    from make_tiny_qwen3_moe import hub_state_dict

    torch.manual_seed(2024)
    config = Qwen3NextConfig(
        vocab_size=args.vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, partial_rotary_factor=0.5, rope_theta=1e6, max_position_embeddings=512,
        rms_norm_eps=1e-6, tie_word_embeddings=False, full_attention_interval=2, linear_conv_kernel_dim=4,
        linear_key_head_dim=16, linear_value_head_dim=8, linear_num_key_heads=2, linear_num_value_heads=4,
        decoder_sparse_step=1, moe_intermediate_size=32, shared_expert_intermediate_size=24, num_experts=4,
        num_experts_per_tok=2, norm_topk_prob=True, mlp_only_layers=[], output_router_logits=False)
    model = Qwen3NextForCausalLM(config).to(torch.float32)
    model.config._attn_implementation = "eager"
    randomise(model)
    model.eval()

    model_dir = os.path.join(args.out_dir, "model")
    os.makedirs(model_dir, exist_ok=True)
    state = hub_state_dict(model, config)
    state["mtp.fc.weight"] = torch.randn(config.hidden_size, 2 * config.hidden_size)
    state["mtp.norm.weight"] = torch.zeros(config.hidden_size)
    save_file(state, os.path.join(model_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config.to_dict(), f, indent=2, default=str)

    input_ids = torch.randint(0, config.vocab_size, (2, 70), dtype=torch.int64)
    with torch.no_grad():
        out = model(input_ids=input_ids, labels=input_ids)
    assert math.isfinite(out.loss.item())
    save_file({"input_ids": input_ids.contiguous(), "logits": out.logits.float().contiguous(),
               "loss": out.loss.float().reshape(()).contiguous()},
              os.path.join(args.out_dir, "fixture.safetensors"))
    print("layer types", config.layer_types, "loss", out.loss.item())


if __name__ == "__main__":
    main()
