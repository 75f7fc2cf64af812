"""Chat records rendered by transformers' apply_chat_template with Qwen3's template, for
tests/unit/chat_template_oracle_test.cpp.

usage: chat_template_oracle.py TEMPLATE RECORDS_JSONL OUT_JSONL [--tokenizer TOKENIZER_JSON]
Each input line: {"messages": [...], "tools": [...] (optional), "add_generation_prompt": bool (optional),
"enable_thinking": bool (optional)}. Each output line: {"text": ..., "ids": [...]} (ids only with
--tokenizer: the ids of that text, as apply_chat_template(tokenize=True) gives them).
"""
import argparse
import json

from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("template")
    parser.add_argument("records")
    parser.add_argument("out")
    parser.add_argument("--tokenizer")
    args = parser.parse_args()
    with open(args.template, encoding="utf-8") as f:
        template = f.read()
    backend = Tokenizer.from_file(args.tokenizer) if args.tokenizer else Tokenizer.from_str(
        json.dumps({"version": "1.0", "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}}))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend)
    tokenizer.chat_template = template
    with open(args.records, encoding="utf-8") as f, open(args.out, "w", encoding="utf-8") as out:
        for line in f:
            record = json.loads(line)
            kwargs = {"tools": record.get("tools"), "add_generation_prompt": record.get("add_generation_prompt", False)}
            if "enable_thinking" in record:
                kwargs["enable_thinking"] = record["enable_thinking"]
            text = tokenizer.apply_chat_template(record["messages"], tokenize=False, **kwargs)
            result = {"text": text}
            if args.tokenizer:
                ids = tokenizer.apply_chat_template(record["messages"], tokenize=True, return_dict=False, **kwargs)
                result["ids"] = list(ids)
            out.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
