"""Forward + backward throughput of transformers' Qwen3MoeSparseMoeBlock (a loop over experts with a mask
per expert), the peer of moe_layer_bench on the same shapes. Prints one JSON line.

usage: hf_block.py --tokens 4096 --hidden 512 --experts 8 --top-k 2 --expert-ffn 1024 --iters 10 --threads 1
"""
import argparse
import json
import time

import torch
from transformers import Qwen3MoeConfig
from transformers.models.qwen3_moe.modeling_qwen3_moe import Qwen3MoeSparseMoeBlock


def main():
    p = argparse.ArgumentParser()
    for name, default in [("tokens", 4096), ("hidden", 512), ("experts", 8), ("top-k", 2), ("expert-ffn", 1024),
                          ("iters", 10), ("threads", 1)]:
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    config = Qwen3MoeConfig(hidden_size=a.hidden, num_experts=a.experts, num_experts_per_tok=a.top_k,
                            moe_intermediate_size=a.expert_ffn, norm_topk_prob=True)
    block = Qwen3MoeSparseMoeBlock(config)
    with torch.no_grad():
        for q in block.parameters():
            q.normal_(0.0, 0.02)
    torch.manual_seed(10)
    x = torch.randn(1, a.tokens, a.hidden)
    times = []
    for i in range(a.iters + 2):
        start = time.perf_counter()
        block(x).square().mean().backward()
        if i >= 2:
            times.append(time.perf_counter() - start)
        block.zero_grad(set_to_none=True)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"impl": "transformers", "ranks": 1, "tokens_per_rank": a.tokens, "median_s": median,
                      "tokens_per_s_per_rank": a.tokens / median, "tokens_per_s_total": a.tokens / median}))


if __name__ == "__main__":
    main()
