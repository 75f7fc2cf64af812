#!/usr/bin/env bash
# `zen generate` from zen's own checkpoint (LoRA unmerged): --prompt streams text, --input writes one JSON
# line per prompt or messages record, a seed makes sampling repeat, and bad input exits 2 naming the line.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo tokenizer.path=bytes model.layers=2 "${nano_tiny[@]}" model.max_position=64
      optim.warmup_steps=0 train.max_steps=2 train.seq_len=64 train.global_batch_size=2 train.micro_batch_size=2
      train.threads=1 output_dir="$work/run")
"$zen" train "$recipe" "${tiny[@]}" > "$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }

"$zen" generate "$recipe" "${tiny[@]}" --prompt "What is 2+3?" --chat --max-new-tokens 8 > "$work/streamed.txt"
[[ $(wc -l < "$work/streamed.txt") -ge 1 ]] || { echo "nothing streamed"; exit 1; }

printf '%s\n' '{"prompt": "Hello"}' '' '{"messages": [{"role": "user", "content": "Hi"}]}' > "$work/in.jsonl"
sample=(--input "$work/in.jsonl" --max-new-tokens 12 --temperature 1.0 --top-k 50 --top-p 0.95 --seed 3)
"$zen" generate "$recipe" "${tiny[@]}" "${sample[@]}" > "$work/a.jsonl"
"$zen" generate "$recipe" "${tiny[@]}" "${sample[@]}" > "$work/b.jsonl"
cmp "$work/a.jsonl" "$work/b.jsonl" || { echo "the same seed sampled differently"; exit 1; }
"$python" - "$work/a.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2, rows
assert rows[0]["prompt"] == "Hello", rows[0]
assert rows[1]["prompt"] == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", rows[1]
for r in rows:
    assert 1 <= len(r["ids"]) <= 12 and all(0 <= i < 512 for i in r["ids"]), r
    assert isinstance(r["completion"], str), r
PY

# Bad input: exit 2 and one message naming what is wrong.
expect_bad() {  # expect_bad PATTERN ARGS...: zen generate ARGS exits 2 with PATTERN on stderr
  local pattern=$1 code=0
  shift
  "$zen" generate "$recipe" "${tiny[@]}" "$@" > /dev/null 2> "$work/err" || code=$?
  [[ $code == 2 ]] && grep -q -- "$pattern" "$work/err" || { echo "want exit 2 and \"$pattern\", got $code:"; cat "$work/err"; exit 1; }
}
: > "$work/empty.jsonl"
expect_bad "holds no prompts" --input "$work/empty.jsonl"
printf '%s\n' '{"prompt": "fine"}' '{"prompt": "broken' > "$work/malformed.jsonl"
expect_bad "malformed.jsonl:2: not valid JSON" --input "$work/malformed.jsonl"
printf '%s\n' '{"text": "no prompt key"}' > "$work/wrong.jsonl"
expect_bad "wrong.jsonl:1: expected" --input "$work/wrong.jsonl"
expect_bad "empty prompt" --prompt ""
expect_bad "model.max_position (64)" --prompt "$(printf 'x%.0s' {1..80})"
expect_bad "one of --prompt TEXT or --input FILE"
expect_bad "--top-p" --prompt "hi" --top-p 1.5
expect_bad "model.checkpoint: unset" --prompt "hi" output_dir="$work/nothing-here"
echo PASS
