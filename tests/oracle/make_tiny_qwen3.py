"""Builds a tiny random Qwen3ForCausalLM with Hugging Face transformers and saves what zen must reproduce.

usage: make_tiny_qwen3.py OUT_DIR [--kv-heads N] [--tie 0|1] [--sliding-window W --max-window-layers L]
                          [--lora-rank R --lora-alpha A --lora-targets q_proj,v_proj,...]
writes OUT_DIR/model/ (config.json + model.safetensors, save_pretrained), OUT_DIR/adapter/ (peft, with
--lora-rank) and OUT_DIR/fixture.safetensors: input_ids (2, 12) int64, logits (2, 12, vocab) f32 and
loss () f32, the mean next-token loss with labels = input_ids (shifted inside transformers); with LoRA,
logits and loss are those of the adapted model.
"""
import argparse
import os

import torch
from safetensors.torch import save_file
from transformers import Qwen3Config, Qwen3ForCausalLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--kv-heads", type=int, default=4)
    parser.add_argument("--tie", type=int, default=1)
    parser.add_argument("--sliding-window", type=int, default=0)
    parser.add_argument("--max-window-layers", type=int, default=0)
    parser.add_argument("--lora-rank", type=int, default=0)
    parser.add_argument("--lora-alpha", type=float, default=16)
    parser.add_argument("--lora-targets", default="q_proj,v_proj")
    args = parser.parse_args()

    torch.manual_seed(1234)
    config = Qwen3Config(
        vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=args.kv_heads, head_dim=16,
        max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1e6,
        tie_word_embeddings=bool(args.tie), attention_bias=False,
        use_sliding_window=args.sliding_window > 0,
        sliding_window=args.sliding_window if args.sliding_window > 0 else None,
        max_window_layers=args.max_window_layers)
    model = Qwen3ForCausalLM(config).to(torch.float32)
    model.config._attn_implementation = "eager"
    # Larger weights than initializer_range and non-trivial norms, so every term moves the logits.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.15)
    model.eval()
    os.makedirs(args.out_dir, exist_ok=True)
    model.save_pretrained(os.path.join(args.out_dir, "model"), safe_serialization=True)

    if args.lora_rank > 0:
        from peft import LoraConfig, get_peft_model
        lora = LoraConfig(r=args.lora_rank, lora_alpha=args.lora_alpha, lora_dropout=0.0,
                          target_modules=args.lora_targets.split(","), bias="none")
        model = get_peft_model(model, lora)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0.0, 0.1)
        model.save_pretrained(os.path.join(args.out_dir, "adapter"), safe_serialization=True)
        model.eval()

    input_ids = torch.randint(0, config.vocab_size, (2, 12), dtype=torch.int64)
    with torch.no_grad():
        out = model(input_ids=input_ids, labels=input_ids)
    save_file({"input_ids": input_ids.contiguous(), "logits": out.logits.float().contiguous(),
               "loss": out.loss.float().reshape(()).contiguous()},
              os.path.join(args.out_dir, "fixture.safetensors"))
    print("layer_types", model.config.layer_types, "loss", out.loss.item())


if __name__ == "__main__":
    main()
