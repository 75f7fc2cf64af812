#!/usr/bin/env bash
# A recipe's `data` section drives preparation and training: a bare recipe whose shards were never
# prepared exits 2 saying how to prepare them; `zen data prepare --recipe` prepares a chat JSONL from the
# recipe's data.prepare (flags override it), `zen validate` derives the run's length from the prepared
# data (and from the demo task's corpus), and `zen train` trains on it for exactly that many steps.
set -euo pipefail
zen=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"  # recipes' data paths are relative to where zen runs: here, nothing is prepared

set +e
"$zen" train "$src/configs/recipes/zen-nano-lora.yaml" 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "no shards: expected exit 2, got $rc"; cat "$work/err"; exit 1; }
[ "$(wc -l < "$work/err")" -eq 1 ] || { echo "no shards: expected one line, got:"; cat "$work/err"; exit 1; }
for words in "data.path: data/zen-nano" "zen data prepare --recipe $src/configs/recipes/zen-nano-lora.yaml" \
             "data.source=demo"; do
  grep -qF "$words" "$work/err" || { echo "no shards: the message lacks '$words':"; cat "$work/err"; exit 1; }
done
echo "no shards: exit 2, $(cat "$work/err")"
[ ! -e runs ] || { echo "no shards: the failed run created runs/"; exit 1; }

# A recipe of our own: the Zen-Nano recipe pointed at a small chat JSONL, with the byte tokenizer.
"$python" - "$work/chat.jsonl" <<'PY'
import json, random, sys
rng = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(300):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        f.write(json.dumps({"messages": [{"role": "user", "content": f"What is {a}+{b}?"},
                                         {"role": "assistant", "content": str(a + b)}]}) + "\n")
PY
sed -e "s|file: ../models/|file: $src/configs/models/|" -e "s|path: data/zen-nano$|path: shards|" \
    -e "s|inputs: \[data/zen-nano.jsonl\]|inputs: [chat.jsonl]|" \
    -e "s|path: data/qwen3-tokenizer/tokenizer.json|path: bytes|" \
    "$src/configs/recipes/zen-nano-lora.yaml" > recipe.yaml
grep -q "path: shards" recipe.yaml && grep -q "inputs: \[chat.jsonl\]" recipe.yaml && grep -q "path: bytes" recipe.yaml

"$zen" data prepare --recipe recipe.yaml > prepare.json
"$zen" data prepare --recipe recipe.yaml --output shards-all --loss-mask all > prepare-all.json
"$python" - <<'PY'
import json
m = json.load(open("shards/manifest.json"))
assert m["options"]["format"] == "chat" and m["options"]["loss_mask"] == "assistant", m["options"]
assert m["tokenizer"]["fingerprint"] == "bytes" and m["documents"] == 300, m
a = json.load(open("shards-all/manifest.json"))
assert a["options"]["loss_mask"] == "all" and a["loss_tokens"] == a["tokens"] > m["loss_tokens"], (a, m)
print("prepare --recipe: %d documents, %d tokens, %d trained; --loss-mask all overrides it" %
      (m["documents"], m["tokens"], m["loss_tokens"]))
PY

# The run's length comes from the prepared data: train.epochs passes over it.
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(model.layers=2 "${nano_tiny[@]}" optim.warmup_steps=0 train.seq_len=128 train.global_batch_size=4
      train.micro_batch_size=2 train.epochs=1 train.threads=1)
"$zen" validate recipe.yaml "${tiny[@]}" --json > validate.json
"$zen" train recipe.yaml "${tiny[@]}" output_dir=run > train.log 2>&1 || { cat train.log; exit 1; }
"$zen" validate recipe.yaml "${tiny[@]}" data.source=demo data.demo_examples=500 --json > validate-demo.json
"$zen" train recipe.yaml "${tiny[@]}" data.source=demo data.demo_examples=500 output_dir=run-demo > demo.log 2>&1 \
  || { cat demo.log; exit 1; }
"$python" - <<'PY'
import json, math
for name, validate, run in [("shards", "validate.json", "run"), ("demo", "validate-demo.json", "run-demo")]:
    d = json.load(open(validate))["derived"]
    expected = math.ceil(d["tokens_per_epoch"] / d["tokens_per_step"])  # one epoch
    assert d["total_steps"] == expected, (name, d)
    rows = [json.loads(l) for l in open(run + "/metrics.jsonl")]
    assert [r["step"] for r in rows] == list(range(1, expected + 1)), (name, len(rows), expected)
    assert all(math.isfinite(r["loss"]) for r in rows)
    print("%s: one epoch of %d tokens = %d steps, validated and trained; loss %.3f -> %.3f" %
          (name, d["tokens_per_epoch"], expected, rows[0]["loss"], rows[-1]["loss"]))
PY
echo "PASS"
