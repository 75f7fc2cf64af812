"""Greedy generation throughput of transformers' Qwen3ForCausalLM.generate (with its KV cache, sdpa
attention), the peer of generate_bench on the same shapes. Prints one JSON line: the best seconds of
--repeats runs after one warm-up.

usage: hf_generate.py --layers 2 --hidden 256 --heads 4 --kv-heads 2 --ffn 768 --vocab 4096
                      --prompt-tokens 16 --new-tokens 128 --repeats 3 --threads 1
"""
import argparse
import json
import time

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM


def main():
    p = argparse.ArgumentParser()
    for name, default in [("layers", 2), ("hidden", 256), ("heads", 4), ("kv-heads", 2), ("ffn", 768),
                          ("vocab", 4096), ("prompt-tokens", 16), ("new-tokens", 128), ("repeats", 3),
                          ("threads", 1)]:
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    config = Qwen3Config(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.ffn,
                         num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
                         head_dim=a.hidden // a.heads, max_position_embeddings=32768, tie_word_embeddings=True)
    model = Qwen3ForCausalLM(config).eval()
    model.generation_config.eos_token_id = None  # random weights: always new-tokens ids
    model.generation_config.pad_token_id = 0
    prompt = torch.randint(0, a.vocab, (1, a.prompt_tokens))
    best = float("inf")
    for r in range(a.repeats + 1):
        start = time.perf_counter()
        with torch.no_grad():
            ids = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                 max_new_tokens=a.new_tokens, use_cache=True)
        s = time.perf_counter() - start
        assert ids.shape[1] == a.prompt_tokens + a.new_tokens
        if r > 0:
            best = min(best, s)
    print(json.dumps({"impl": "transformers", "cache": True, "layers": a.layers, "hidden": a.hidden,
                      "new_tokens": a.new_tokens, "seconds": round(best, 4),
                      "tokens_per_s": round(a.new_tokens / best, 1)}))


if __name__ == "__main__":
    main()
