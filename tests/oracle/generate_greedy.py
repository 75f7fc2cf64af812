"""Greedy generation by transformers, for zen's generation oracle (tests/unit/generation_test.cpp).

usage: generate_greedy.py MODEL_DIR OUT_FILE NEW_TOKENS
loads MODEL_DIR (a folder make_tiny_qwen3.py or make_tiny_qwen3_moe.py wrote) with AutoModelForCausalLM,
draws a prompt of 8 ids (seed 7) and writes OUT_FILE (safetensors): prompt (8) int64 and new_ids
(NEW_TOKENS) int64 from model.generate(do_sample=False) with its KV cache. No stop token: the model is
random, so it always writes NEW_TOKENS ids.
"""
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM


def main():
    model_dir, out, new_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3])
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    torch.manual_seed(7)
    prompt = torch.randint(0, model.config.vocab_size, (1, 8), dtype=torch.int64)
    with torch.no_grad():
        ids = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                             max_new_tokens=new_tokens, use_cache=True)
    new_ids = ids[0, prompt.shape[1]:]
    assert new_ids.numel() == new_tokens, new_ids
    save_file({"prompt": prompt[0].contiguous(), "new_ids": new_ids.contiguous()}, out)
    print("new ids", new_ids.tolist())


if __name__ == "__main__":
    main()
