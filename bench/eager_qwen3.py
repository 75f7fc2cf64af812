"""The eager-PyTorch baseline for bench/train_vs_eager.sh: zen's training step (Qwen3 decoder, LoRA or full
fine-tuning, AdamW, global-norm clipping, gradient accumulation) as a plain Python training loop.

usage: python bench/eager_qwen3.py --layers 2 --hidden 256 --heads 4 --kv-heads 4 --head-dim 64 --ffn 704 \
           --vocab 4096 --seq 256 --micro 8 --global-batch 16 --steps 6 --threads 1 [--lora-rank 8 | --full] \
           [--untied] [--profile]

Prints one JSON line: tokens_per_s (median over the steps after the first), step times, peak RSS (MiB)
and parameter counts. --profile prints torch.profiler's top operators of one step to stderr.
The model follows models/qwen3_blocks.cpp: RMSNorm eps 1e-6, per-head q/k RMSNorm before rotate-half RoPE
(theta 1e6), GQA, causal SDPA, SwiGLU, tied embeddings unless --untied. Tokens are random; the loss is the
summed token cross-entropy over the global batch divided by its token count, as in trainer/train_step.cpp.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Linear(nn.Module):
    """y = x W^T (no bias), plus (x A^T B^T) * alpha/rank when LoRA is attached."""

    def __init__(self, d_in, d_out, lora_rank, lora_alpha):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) * d_in**-0.5)
        self.lora_rank = lora_rank
        if lora_rank:
            self.weight.requires_grad_(False)
            self.lora_A = nn.Parameter(torch.empty(lora_rank, d_in).uniform_(-d_in**-0.5, d_in**-0.5))
            self.lora_B = nn.Parameter(torch.zeros(d_out, lora_rank))
            self.scale = lora_alpha / lora_rank

    def forward(self, x):
        y = F.linear(x, self.weight)
        if not self.lora_rank:
            return y
        return y + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat((-b, a), -1)


class Block(nn.Module):
    def __init__(self, a, lora):  # lora(name) -> rank for that linear (0 = none)
        super().__init__()
        c, hd = a.hidden, a.head_dim
        self.heads, self.kv_heads, self.hd = a.heads, a.kv_heads, hd
        lin = lambda name, i, o: Linear(i, o, lora(name), a.lora_alpha)
        self.q_proj, self.k_proj = lin("q", c, a.heads * hd), lin("k", c, a.kv_heads * hd)
        self.v_proj, self.o_proj = lin("v", c, a.kv_heads * hd), lin("o", a.heads * hd, c)
        self.gate_proj, self.up_proj, self.down_proj = lin("gate", c, a.ffn), lin("up", c, a.ffn), lin("down", a.ffn, c)
        self.q_norm, self.k_norm = RMSNorm(hd), RMSNorm(hd)
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(c), RMSNorm(c)

    def forward(self, x, cos, sin):  # x: (B, T, C); cos, sin: (1, 1, T, hd)
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_norm(self.q_proj(h).view(b, t, self.heads, self.hd)).transpose(1, 2)      # (B, H, T, hd)
        k = self.k_norm(self.k_proj(h).view(b, t, self.kv_heads, self.hd)).transpose(1, 2)   # (B, KV, T, hd)
        v = self.v_proj(h).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.heads != self.kv_heads)
        x = x + self.o_proj(y.transpose(1, 2).reshape(b, t, self.heads * self.hd))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Qwen3(nn.Module):
    def __init__(self, a):
        super().__init__()
        targets = set() if a.full else {"q", "v", "o", "gate", "up", "down"}
        lora = lambda name: a.lora_rank if name in targets else 0
        self.embed = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList(Block(a, lora) for _ in range(a.layers))
        self.norm = RMSNorm(a.hidden)
        self.lm_head = None if not a.untied else nn.Linear(a.hidden, a.vocab, bias=False)
        if not a.full:  # LoRA: only the adapters train
            for name, p in self.named_parameters():
                p.requires_grad_("lora_" in name)
        inv_freq = 1.0 / a.rope_theta ** (torch.arange(0, a.head_dim, 2).float() / a.head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, tokens):  # (B, T) -> logits (B, T, V)
        freqs = torch.arange(tokens.shape[1]).float()[:, None] * self.inv_freq  # (T, hd/2)
        angles = torch.cat((freqs, freqs), -1)[None, None]                       # (1, 1, T, hd)
        cos, sin = angles.cos(), angles.sin()
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x, cos, sin)
        x = self.norm(x)
        return F.linear(x, self.embed.weight if self.lm_head is None else self.lm_head.weight)


def rss_now_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in [("layers", 2), ("hidden", 256), ("heads", 4), ("kv-heads", 4), ("head-dim", 64),
                          ("ffn", 704), ("vocab", 4096), ("seq", 256), ("micro", 8), ("global-batch", 16),
                          ("steps", 6), ("threads", 1), ("lora-rank", 8)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--lora-alpha", type=float, default=16.0)
    p.add_argument("--rope-theta", type=float, default=1e6)
    p.add_argument("--full", action="store_true", help="full fine-tuning (zen's ~lora)")
    p.add_argument("--untied", action="store_true", help="a separate lm_head")
    p.add_argument("--profile", action="store_true", help="profile the last step, top ops to stderr")
    a = p.parse_args()
    rss_after_import = rss_now_mib()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1234)

    model = Qwen3(a)
    trainable = [(n, q) for n, q in model.named_parameters() if q.requires_grad]
    optimizer = torch.optim.AdamW(  # zen decays tensors with dim >= 2 only
        [{"params": [q for _, q in trainable if q.dim() >= 2], "weight_decay": 0.01},
         {"params": [q for _, q in trainable if q.dim() < 2], "weight_decay": 0.0}],
        lr=5e-5, betas=(0.9, 0.999), eps=1e-8)
    params = [q for _, q in trainable]
    accumulation = a.global_batch // a.micro

    def step():
        batches = [torch.randint(0, a.vocab, (a.micro, a.seq + 1)) for _ in range(accumulation)]
        denominator = a.global_batch * a.seq  # every position carries a label here
        for batch in batches:
            logits = model(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, a.vocab), batch[:, 1:].reshape(-1), reduction="sum")
            (loss / denominator).backward()
            loss.item()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    times = []
    for i in range(a.steps):
        if a.profile and i == a.steps - 1:
            from torch.profiler import profile, ProfilerActivity
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)
            continue
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)

    tokens_per_step = a.global_batch * a.seq
    median = statistics.median(times[1:] if len(times) > 1 else times)
    print(json.dumps({
        "tokens_per_s": tokens_per_step / median, "median_step_s": median,
        "best_step_s": min(times[1:] if len(times) > 1 else times), "step_times_s": [round(t, 3) for t in times],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_import_mib": rss_after_import,
        "params": sum(q.numel() for q in model.parameters()), "trainable": sum(q.numel() for q in params),
        "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
