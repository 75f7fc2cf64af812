#!/usr/bin/env bash
# `zen tokenize --chat --input FILE`: chat records (tools, tool calls, reasoning, generation prompts) -> one
# line {"ids", "loss_mask"} each; with Qwen3's tokenizer the ids are transformers' apply_chat_template's
# (tests/oracle/chat_template_oracle.py); a malformed record exits 2 naming FILE:LINE.
set -euo pipefail
zen=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/chat.jsonl" <<'JSON'
{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": "", "reasoning_content": "Use the tool.", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}}]}, {"role": "tool", "content": "{\"rain\": true}"}, {"role": "assistant", "content": "<think>\nIt rains.\n</think>\n\nRain, bring an umbrella."}], "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]}
{"messages": [{"role": "user", "content": "caf\u00e9?"}, {"role": "assistant", "content": "Oui."}, {"role": "user", "content": "Merci"}], "add_generation_prompt": true, "enable_thinking": false}
JSON

"$zen" tokenize --tokenizer bytes --chat --input "$work/chat.jsonl" > "$work/bytes.jsonl"
"$python" - "$work/bytes.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2, rows
for r in rows:
    assert len(r["ids"]) == len(r["loss_mask"]) > 0, r
assert 0 < sum(rows[0]["loss_mask"]) < len(rows[0]["ids"]), "record 1: some tokens trained, not all"
assert sum(rows[1]["loss_mask"]) == 0, "a generation prompt trains nothing"
PY

qwen=${ZEN_QWEN3_TOKENIZER:-$src/../shared/data/qwen3-tokenizer}
[ -d "$qwen" ] || qwen=$(dirname "$qwen")
if [ -f "$qwen/tokenizer.json" ]; then
  "$zen" tokenize --tokenizer "$qwen/tokenizer.json" --chat --input "$work/chat.jsonl" > "$work/zen.jsonl"
  "$python" "$src/tests/oracle/chat_template_oracle.py" "$src/tests/fixtures/qwen3_chat_template.jinja" \
    "$work/chat.jsonl" "$work/oracle.jsonl" --tokenizer "$qwen/tokenizer.json"
  "$python" - "$work/zen.jsonl" "$work/oracle.jsonl" "$qwen/tokenizer.json" <<'PY'
import json, sys
from tokenizers import Tokenizer
zen = [json.loads(l) for l in open(sys.argv[1])]
oracle = [json.loads(l) for l in open(sys.argv[2])]
tok = Tokenizer.from_file(sys.argv[3])
for z, o in zip(zen, oracle):
    assert z["ids"] == o["ids"], (tok.decode(z["ids"]), o["text"])
trained = tok.decode([i for i, m in zip(zen[0]["ids"], zen[0]["loss_mask"]) if m], skip_special_tokens=False)
assert "rain\": true" not in trained and "Weather in Oslo" not in trained, trained
assert trained.endswith("Rain, bring an umbrella.<|im_end|>") and "<tool_call>" in trained, trained
print("qwen3: %d records match apply_chat_template" % len(zen))
PY
else
  echo "qwen3 part skipped: no tokenizer.json at $qwen (set ZEN_QWEN3_TOKENIZER)"
fi

printf '{"messages": [{"role": "user", "content": "ok"}]}\n{"messages": [{"role": "user"}]}\n' > "$work/bad.jsonl"
set +e
"$zen" tokenize --tokenizer bytes --chat --input "$work/bad.jsonl" > /dev/null 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "bad record: expected exit 2, got $rc"; exit 1; }
grep -q "bad.jsonl:2: messages\[0\].content" "$work/err" || { echo "bad record: the message does not name it:"; cat "$work/err"; exit 1; }
echo "PASS"
