#!/usr/bin/env bash
# `zen data prepare` on chat JSONL: shards whose manifest hashes match, a loss mask on the assistant
# turns only, bad lines reported with file:line (or skipped with --skip-bad), empty input refused;
# then `zen train` trains a few steps on the prepared folder.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" - "$work/chat.jsonl" <<'PY'
import json, random, sys
rng = random.Random(0)
with open(sys.argv[1], "w") as f:
    for i in range(400):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        f.write(json.dumps({"messages": [
            {"role": "system", "content": "You add numbers."},
            {"role": "user", "content": f"What is {a}+{b}?"},
            {"role": "assistant", "content": str(a + b)}]}) + "\n")
PY
"$zen" data prepare --tokenizer bytes --input "$work/chat.jsonl" --output "$work/shards" --format chat \
  --threads 2 > "$work/summary.json"

"$python" - "$work" <<'PY'
import hashlib, json, os, sys
import numpy as np
work = sys.argv[1]
summary = json.load(open(os.path.join(work, "summary.json")))
m = json.load(open(os.path.join(work, "shards", "manifest.json")))
assert summary["documents"] == m["documents"] == 400, (summary, m["documents"])
assert m["tokenizer"]["fingerprint"] == "bytes", m["tokenizer"]
ids, mask = [], []
for s in m["shards"]:
    for key in ("ids", "mask", "docs"):
        path = os.path.join(work, "shards", s[key]["name"])
        data = open(path, "rb").read()
        assert len(data) == s[key]["bytes"], path
        assert hashlib.sha256(data).hexdigest() == s[key]["sha256"], path
    ids.append(np.fromfile(os.path.join(work, "shards", s["ids"]["name"]), dtype="<u4"))
    mask.append(np.fromfile(os.path.join(work, "shards", s["mask"]["name"]), dtype="u1"))
ids, mask = np.concatenate(ids), np.concatenate(mask)
assert len(ids) == m["tokens"] and int(mask.sum()) == m["loss_tokens"]
# Byte tokenizer: ids < 256 are bytes, 257 = <|im_start|>, 258 = <|im_end|>. Trained = answers + <|im_end|>.
def text(sel):
    return "".join(chr(i) if i < 256 else {256: "<|endoftext|>", 257: "<|im_start|>", 258: "<|im_end|>"}[int(i)] for i in sel)
trained = text(ids[mask == 1])
untrained = text(ids[mask == 0])
assert "You add numbers" not in trained and "What is" not in trained and "assistant" not in trained
assert trained.count("<|im_end|>") == 400, trained[:200]
assert untrained.count("<|im_end|>") == 800 and "What is" in untrained
print("prepared: %d tokens, %d trained" % (len(ids), mask.sum()))
PY

# A malformed line: exit 2 naming file:line; --skip-bad counts it instead.
cp "$work/chat.jsonl" "$work/bad.jsonl"
sed -i '3s/.*/{"messages": [oops/' "$work/bad.jsonl"
set +e
"$zen" data prepare --tokenizer bytes --input "$work/bad.jsonl" --output "$work/bad" 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "malformed line: expected exit 2, got $rc"; exit 1; }
grep -q "bad.jsonl:3:" "$work/err" || { echo "malformed line: no file:line in:"; cat "$work/err"; exit 1; }
"$zen" data prepare --tokenizer bytes --input "$work/bad.jsonl" --output "$work/skip" --skip-bad > "$work/skip.json"
grep -q '"skipped_records":1' "$work/skip.json" || { echo "--skip-bad: expected one skipped record:"; cat "$work/skip.json"; exit 1; }

: > "$work/empty.jsonl"
set +e
"$zen" data prepare --tokenizer bytes --input "$work/empty.jsonl" --output "$work/empty" 2> /dev/null; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "empty input: expected exit 2, got $rc"; exit 1; }

# Train on the prepared chat data (tiny model, a few steps).
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.path="$work/shards" tokenizer.path=bytes model.layers=2 "${nano_tiny[@]}" optim.warmup_steps=0
      train.max_steps=4 train.seq_len=128 train.global_batch_size=4 train.micro_batch_size=2 train.threads=1
      output_dir="$work/run")
"$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}"
[ "$(wc -l < "$work/run/metrics.jsonl")" -eq 4 ] || { echo "train on prepared data: expected 4 steps"; exit 1; }

# The model's vocabulary must hold every token id of the data: an error before training.
set +e
"$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" model.vocab=200 output_dir="$work/run2" 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "vocab too small: expected exit 2, got $rc"; cat "$work/err"; exit 1; }
echo "PASS"
