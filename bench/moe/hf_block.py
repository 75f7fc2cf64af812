"""Forward + backward throughput of transformers' Qwen3MoeSparseMoeBlock, the peer of moe_layer_bench on the
same shapes. Prints one JSON line. --experts-impl picks transformers' experts implementation ("eager": a loop
over the experts that got tokens; "grouped_mm": torch._grouped_mm over the sorted tokens); --lora-rank R > 0
adds peft LoRA (alpha 2R) on the fused expert tensors (target_parameters gate_up_proj and down_proj), base frozen.

usage: hf_block.py --tokens 4096 --hidden 512 --experts 8 --top-k 2 --expert-ffn 1024 --iters 10 --threads 1
                   [--lora-rank 0] [--experts-impl eager]
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
                          ("iters", 10), ("threads", 1), ("lora-rank", 0)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--experts-impl", default="eager")
    p.add_argument("--loop", type=int, default=0)  # moe_layer_bench's flag, ignored here
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    config = Qwen3MoeConfig(hidden_size=a.hidden, num_experts=a.experts, num_experts_per_tok=a.top_k,
                            moe_intermediate_size=a.expert_ffn, norm_topk_prob=True)
    config._experts_implementation = a.experts_impl
    block = Qwen3MoeSparseMoeBlock(config)
    with torch.no_grad():
        for q in block.parameters():
            q.normal_(0.0, 0.02)
    if a.lora_rank > 0:
        from peft import LoraConfig, inject_adapter_in_model
        lora = LoraConfig(r=a.lora_rank, lora_alpha=2 * a.lora_rank,
                          target_parameters=["experts.gate_up_proj", "experts.down_proj"])
        block = inject_adapter_in_model(lora, block)
        for name, q in block.named_parameters():
            q.requires_grad_("lora_" in name)
    torch.manual_seed(10)
    x = torch.randn(1, a.tokens, a.hidden, requires_grad=True)
    times = []
    for i in range(a.iters + 2):
        start = time.perf_counter()
        block(x).square().mean().backward()
        if i >= 2:
            times.append(time.perf_counter() - start)
        block.zero_grad(set_to_none=True)
        x.grad = None
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"impl": "transformers-" + a.experts_impl, "ranks": 1, "tokens_per_rank": a.tokens, "median_s": median,
                      "tokens_per_s_per_rank": a.tokens / median, "tokens_per_s_total": a.tokens / median}))


if __name__ == "__main__":
    main()
