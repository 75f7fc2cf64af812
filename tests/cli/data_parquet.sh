#!/usr/bin/env bash
# Parquet inputs for `zen data prepare` (Arrow's reader, from the pyarrow wheel): the same texts and chats
# as Parquet (two row groups; the chats' messages a list of structs with nulls where a message lacks a key,
# as Hugging Face datasets store them) and as JSONL prepare to byte-identical shards, which train to
# identical losses; --format parquet reads a file of any name; --field picks the column; a row of the wrong
# type or with a null field exits 2 naming the file and row (--skip-bad counts it); a missing column exits
# 2 listing the file's columns.
set -euo pipefail
zen=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$python" - <<'PY'
import json, random
import pyarrow as pa, pyarrow.parquet as pq
rng = random.Random(7)
words = ["def", "return", "x", "0.5", "naïve", "日本語", "\t", "\n", "emoji 🙂", "if", "else:", "  "]
texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 60))) for _ in range(300)]
with open("texts.jsonl", "w") as f:
    for t in texts:
        f.write(json.dumps({"text": t}) + "\n")
pq.write_table(pa.table({"id": list(range(300)), "text": texts}), "texts.parquet", row_group_size=128)
pq.write_table(pa.table({"body": texts}), "texts.bin")
chats = []
for i in range(120):
    m = [{"role": "user", "content": "q%d %s" % (i, rng.choice(words))}]
    m.append({"role": "assistant", "content": "a%d" % i, **({"reasoning_content": "think %d" % i} if i % 3 == 0 else {})})
    chats.append(m)
with open("chats.jsonl", "w") as f:
    for m in chats:
        f.write(json.dumps({"messages": m}) + "\n")
pq.write_table(pa.table({"messages": chats}), "chats.parquet", row_group_size=50)  # reasoning_content: null where absent
pq.write_table(pa.table({"text": [1, 2, 3]}), "wrong-type.parquet")
pq.write_table(pa.table({"text": ["a", "b", None, "d"]}), "null-text.parquet")
PY

"$zen" data prepare --tokenizer bytes --input texts.jsonl chats.jsonl --output from-jsonl > /dev/null
"$zen" data prepare --tokenizer bytes --input texts.parquet chats.parquet --output from-parquet > parquet.json
for f in from-jsonl/shard-*; do
  cmp "$f" "from-parquet/$(basename "$f")" || { echo "$f differs between JSONL and Parquet"; exit 1; }
done
grep -q '"documents":420' parquet.json || { echo "expected 420 documents:"; cat parquet.json; exit 1; }
echo "texts and chats: Parquet and JSONL prepare to identical shards ($(ls from-jsonl/shard-* | wc -l) files)"
"$zen" data prepare --tokenizer bytes --input texts.bin --format parquet --field body --output from-bin > /dev/null
"$zen" data prepare --tokenizer bytes --input texts.jsonl --output texts-only > /dev/null
cmp from-bin/shard-00000.ids texts-only/shard-00000.ids || { echo "--format parquet --field body: other tokens"; exit 1; }
echo "--format parquet --field body on texts.bin: the JSONL's tokens"

source "$src/tests/cli/lib/nano_tiny.sh"
for run in jsonl parquet; do
  "$zen" train "$src/configs/recipes/zen-nano-lora.yaml" data.path="from-$run" tokenizer.path=bytes model.layers=2 \
    "${nano_tiny[@]}" train.max_steps=3 train.seq_len=64 train.global_batch_size=4 train.micro_batch_size=2 \
    train.threads=1 output_dir="run-$run" > "train-$run.log" 2>&1 || { cat "train-$run.log"; exit 1; }
done
"$python" - <<'PY'
import json
loss = lambda run: [json.loads(l)["loss"] for l in open(run + "/metrics.jsonl")]
assert loss("run-jsonl") == loss("run-parquet"), (loss("run-jsonl"), loss("run-parquet"))
print("trained 3 steps on each: identical losses %s" % loss("run-parquet"))
PY

bad() {  # bad FILE WORDS [FLAGS...]: exit 2 with WORDS in the message
  local file=$1 words=$2
  shift 2
  rc=0
  "$zen" data prepare --tokenizer bytes --input "$file" --output "bad-$file" "$@" > /dev/null 2> err || rc=$?
  [ "$rc" = 2 ] && grep -qF -- "$words" err || { echo "$file: expected exit 2 naming '$words', got $rc:"; cat err; exit 1; }
  echo "bad input: $(cat err)"
}
bad wrong-type.parquet 'wrong-type.parquet: record 1: expected an object {"text": "..."}'
bad null-text.parquet 'null-text.parquet: record 3: expected an object {"text": "..."}'
bad texts.parquet 'texts.parquet: no column "content" (columns: id, text)' --field content
"$zen" data prepare --tokenizer bytes --input null-text.parquet --output skipped --skip-bad > skip.json
grep -q '"documents":3' skip.json && grep -q '"skipped_records":1' skip.json || { echo "--skip-bad:"; cat skip.json; exit 1; }
echo PASS
