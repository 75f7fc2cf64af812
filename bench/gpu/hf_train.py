"""The Hugging Face peer of zen's GPU benchmark: Zen-Nano as transformers' Qwen3ForCausalLM (+ peft LoRA), trained
the way zen trains it: fp32 master weights under bf16 autocast, SDPA attention, micro-batches accumulated into
the global batch, global-norm clipping at 1.0, AdamW (torch's fused kernel, the default of HF's Trainer).

usage: python3 bench/gpu/hf_train.py --seq 2048 --micro 4 --global-batch 16 --steps 6 [--lora-rank 8 | --full]
       [--layers 24 --hidden 1024 --heads 16 --kv-heads 16 --head-dim 64 --ffn 2816 --vocab 151936]
       [--device cuda|cpu]
Prints one JSON line: per-step seconds, tokens_per_s (median of the steps after the first two), peak GPU
memory (torch.cuda.max_memory_allocated), parameter counts, versions.
"""
import argparse
import json
import statistics
import time

import torch


def parse_args():
    p = argparse.ArgumentParser()
    for name, default in [("layers", 24), ("hidden", 1024), ("heads", 16), ("kv-heads", 16), ("head-dim", 64),
                          ("ffn", 2816), ("vocab", 151936), ("seq", 2048), ("micro", 4), ("global-batch", 16),
                          ("steps", 6), ("lora-rank", 8), ("lora-alpha", 16), ("seed", 1234)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--full", action="store_true", help="full fine-tune instead of LoRA")
    p.add_argument("--device", default="cuda")
    p.add_argument("--lr", type=float, default=5e-5)
    return p.parse_args()


def build_model(a):
    import transformers
    config = transformers.Qwen3Config(
        vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.ffn, num_hidden_layers=a.layers,
        num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.head_dim,
        max_position_embeddings=32768, rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=True,
        attention_bias=False, use_cache=False)
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    model = model.to(device=a.device, dtype=torch.float32)  # fp32 master weights, as zen's bf16 mode
    if not a.full:
        import peft
        lora = peft.LoraConfig(r=a.lora_rank, lora_alpha=a.lora_alpha, lora_dropout=0.0,
                               target_modules=["q_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
        model = peft.get_peft_model(model, lora)
    model.train()
    return model


def main():
    a = parse_args()
    torch.manual_seed(a.seed)
    model = build_model(a)
    params = [p for p in model.parameters() if p.requires_grad]
    fused = a.device == "cuda"
    optim = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, fused=fused)
    accumulation = a.global_batch // a.micro
    # Random token ids, made once on the device so the loop times the model, not the data.
    batches = [torch.randint(0, a.vocab, (a.micro, a.seq), device=a.device) for _ in range(accumulation)]
    cuda = a.device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    step_s, losses = [], []
    for _ in range(a.steps):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        total = 0.0
        for ids in batches:
            with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16):
                loss = model(input_ids=ids, labels=ids).loss / accumulation
            loss.backward()
            total += loss.detach()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        losses.append(float(total))  # one host sync per step, as zen's metrics line
        if cuda:
            torch.cuda.synchronize()
        step_s.append(time.perf_counter() - start)
    timed = step_s[2:] if len(step_s) > 2 else step_s[1:] or step_s
    import transformers
    out = {
        "impl": "transformers+peft" if not a.full else "transformers",
        "tokens_per_s": a.global_batch * a.seq / statistics.median(timed),
        "step_s": step_s, "losses": losses,
        "peak_memory_bytes": torch.cuda.max_memory_allocated() if cuda else None,
        "params": sum(p.numel() for p in model.parameters()),
        "trainable_params": sum(p.numel() for p in params),
        "torch": torch.__version__, "transformers": transformers.__version__,
    }
    if not a.full:
        import peft
        out["peft"] = peft.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
