"""Forward + backward time of transformers' Qwen3-Next token mixers, the peer of qwen3_next_mixer_bench on the
same shapes and threads: --mixer 0 is Qwen3NextGatedDeltaNet on its pure-torch path (torch_chunk_gated_delta_rule
and the F.conv1d causal conv: the fla and causal-conv1d kernels are not installed and the hub lookup is off),
--mixer 1 is Qwen3NextAttention with SDPA (causal, no mask), on max(1, tokens-per-iteration / T) sequences of
length T for each T of --tokens (a comma-separated list, one process for all: transformers imports slowly).
Loss mean(y²), the input's gradient included. Prints one JSON line per T: the median wall and process-CPU
seconds per iteration after one warm-up.

usage: hf_mixer.py --mixer 0 --tokens 256,1024 --tokens-per-iteration 4096 --hidden 2048 --key-heads 2
                   --value-heads 4 --key-head-dim 128 --value-head-dim 128 --heads 2 --kv-heads 1 --head-dim 256
                   --iters 3 --threads 1
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the kernel hub lookups must not wait on the network
import argparse
import json
import time

import torch
from transformers import Qwen3NextConfig
from transformers.models.qwen3_next import modeling_qwen3_next as m

ARGS = [("mixer", 0), ("tokens-per-iteration", 4096), ("hidden", 2048), ("key-heads", 2), ("value-heads", 4),
        ("key-head-dim", 128), ("value-head-dim", 128), ("heads", 2), ("kv-heads", 1), ("head-dim", 256),
        ("iters", 3), ("threads", 1)]


def make_mixer(a, batch, t):
    """The mixer and a function running it on x (batch, t, C)."""
    config = Qwen3NextConfig(
        hidden_size=a.hidden, num_hidden_layers=4, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
        head_dim=a.head_dim, rope_parameters={"rope_type": "default", "rope_theta": 1e7, "partial_rotary_factor": 0.25},
        linear_num_key_heads=a.key_heads, linear_num_value_heads=a.value_heads, linear_key_head_dim=a.key_head_dim,
        linear_value_head_dim=a.value_head_dim, linear_conv_kernel_dim=4, attention_dropout=0.0)
    config._attn_implementation = "sdpa"
    if a.mixer == 0:
        mixer = m.Qwen3NextGatedDeltaNet(config, layer_idx=0)
        return mixer, lambda x: mixer(x)
    mixer = m.Qwen3NextAttention(config, layer_idx=3)
    positions = torch.arange(t).unsqueeze(0).expand(batch, t)
    rope = m.Qwen3NextRotaryEmbedding(config)(torch.zeros(1), positions)  # built once, as zen's LayerInputs
    return mixer, lambda x: mixer(x, position_embeddings=rope, attention_mask=None)[0]


def median(values):
    return sorted(values)[len(values) // 2]


def measure(a, t):
    """One JSON line: forward + backward of a fresh mixer on max(1, tokens-per-iteration / t) sequences of length t."""
    batch = max(1, a.tokens_per_iteration // t)
    torch.manual_seed(1)
    mixer, run = make_mixer(a, batch, t)
    with torch.no_grad():  # HF's init distributions: N(0, 0.02) linears and conv; A_log, dt_bias, norms as built
        for q in mixer.parameters():
            if q.dim() > 1:
                q.normal_(0.0, 0.02)
    torch.manual_seed(10)
    x = torch.randn(batch, t, a.hidden, requires_grad=True)
    wall, cpu = [], []
    for i in range(a.iters + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        run(x).square().mean().backward()
        if i >= 1:  # one warm-up iteration
            cpu.append(time.process_time() - cpu_start)
            wall.append(time.perf_counter() - start)
        x.grad = None
        mixer.zero_grad(set_to_none=True)
    return {"impl": "transformers", "mixer": "gated_deltanet" if a.mixer == 0 else "gated_attention", "tokens": t,
            "batch": batch, "threads": a.threads, "median_s": median(wall), "median_cpu_s": median(cpu)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tokens", default="1024")
    for name, default in ARGS:
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    for t in (int(v) for v in a.tokens.split(",")):
        print(json.dumps(measure(a, t)), flush=True)


if __name__ == "__main__":
    main()
