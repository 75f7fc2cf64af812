#!/usr/bin/env bash
# `zen tokenize`: JSON lines in, {"ids": [...]} lines out; the byte tokenizer always, Qwen3's tokenizer
# against Hugging Face `tokenizers` when its tokenizer.json is present; a bad line exits 2 naming it.
set -euo pipefail
zen=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

out=$(printf '{"text": "hi"}\n{"text": "<|im_end|>\\u00e9"}\n' | "$zen" tokenize --tokenizer bytes)
[ "$out" = $'{"ids": [104, 105]}\n{"ids": [258, 195, 169]}' ] || { echo "bytes: unexpected output: $out"; exit 1; }

set +e
printf '{"text": "ok"}\n{"text": oops}\n' | "$zen" tokenize --tokenizer bytes > /dev/null 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "bad JSON line: expected exit 2, got $rc"; exit 1; }
grep -q "stdin:2" "$work/err" || { echo "bad JSON line: the message does not name line 2:"; cat "$work/err"; exit 1; }

qwen=${ZEN_QWEN3_TOKENIZER:-$src/../shared/data/qwen3-tokenizer}
[ -d "$qwen" ] || qwen=$(dirname "$qwen")
if [ -f "$qwen/tokenizer.json" ]; then
  "$python" - "$qwen/tokenizer.json" "$work/texts.jsonl" <<'PY'
import json, sys
texts = ["Hello, world!", "  indented\n\tcode()  ", "日本語のテキスト", "<|im_start|>user\nhé<|im_end|>\n", "x" * 5000, ""]
with open(sys.argv[2], "w") as f:
    for t in texts:
        f.write(json.dumps({"text": t}) + "\n")
PY
  "$zen" tokenize --tokenizer "$qwen/tokenizer.json" < "$work/texts.jsonl" > "$work/ids.jsonl"
  "$python" - "$qwen/tokenizer.json" "$work/texts.jsonl" "$work/ids.jsonl" <<'PY'
import json, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
texts = [json.loads(l)["text"] for l in open(sys.argv[2])]
ids = [json.loads(l)["ids"] for l in open(sys.argv[3])]
assert len(ids) == len(texts), (len(ids), len(texts))
for t, got in zip(texts, ids):
    want = tok.encode(t, add_special_tokens=False).ids
    assert got == want, (t[:80], got[:20], want[:20])
print("qwen3: %d lines match tokenizers" % len(texts))
PY
else
  echo "qwen3 part skipped: no tokenizer.json at $qwen (set ZEN_QWEN3_TOKENIZER)"
fi
echo "PASS"
