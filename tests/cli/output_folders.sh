#!/usr/bin/env bash
# `zen data prepare --output` and `zen export --out` write whole folders or nothing (data/common/output_folder.h):
#   1. a failing prepare (a corrupt line, an empty input, a missing input) leaves no folder and no
#      temporary folder behind;
#   2. a non-empty destination exits 2 naming it and --force, and is left as it was; with --force it is
#      replaced once the new folder is complete, and a failure under --force leaves the old one intact;
#   3. the same for zen export, whose peft base_model_name_or_path names the final folder, not the
#      temporary one it was written in.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
export OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# expect_refused WHAT MESSAGE COMMAND...: exit 2 with MESSAGE on stderr.
expect_refused() {
  local what=$1 message=$2 rc=0
  shift 2
  "$@" >"$work/out.log" 2>"$work/err.log" || rc=$?
  [ "$rc" = 2 ] || { echo "$what: expected exit 2, got $rc"; cat "$work/err.log"; exit 1; }
  grep -qF -- "$message" "$work/err.log" || { echo "$what: expected '$message' in:"; cat "$work/err.log"; exit 1; }
  echo "$what: exit 2, $(tail -1 "$work/err.log")"
}
# nothing_at PATH: neither PATH nor a temporary sibling of it exists.
nothing_at() {
  [ ! -e "$1" ] && [ -z "$(ls -d "$1".tmp-* 2>/dev/null)" ] || { echo "left behind:"; ls -la "$(dirname "$1")"; exit 1; }
}
tree_sum() { (cd "$1" && find . -type f -exec sha256sum {} + | sort); }

for i in 1 2 3 4 5 6; do echo "{\"text\": \"document number $i, with some words in it\"}"; done >"$work/good.jsonl"
{ head -3 "$work/good.jsonl"; echo '{"text": oops'; tail -3 "$work/good.jsonl"; } >"$work/bad.jsonl"
: >"$work/empty.jsonl"
prepare=("$zen" data prepare --tokenizer bytes --shard-tokens 64)

# 1. failures leave nothing
expect_refused "prepare, corrupt line" "bad.jsonl:4:" "${prepare[@]}" --input "$work/bad.jsonl" --output "$work/p-bad"
nothing_at "$work/p-bad"
expect_refused "prepare, empty input" "no documents" "${prepare[@]}" --input "$work/empty.jsonl" --output "$work/p-empty"
nothing_at "$work/p-empty"
expect_refused "prepare, missing input" "cannot open" "${prepare[@]}" --input "$work/none.jsonl" --output "$work/p-none"
nothing_at "$work/p-none"

# 2. a non-empty destination
"${prepare[@]}" --input "$work/good.jsonl" --output "$work/shards" >/dev/null
[ "$(ls "$work/shards" | grep -c '\.ids$')" -gt 1 ] || { echo "expected several shards"; ls "$work/shards"; exit 1; }
echo keep >"$work/shards/notes.txt"
before=$(tree_sum "$work/shards")
expect_refused "prepare into a non-empty folder" "--output $work/shards: the folder is not empty; choose another or pass --force" \
  "${prepare[@]}" --input "$work/good.jsonl" --output "$work/shards"
expect_refused "prepare --force, corrupt line" "bad.jsonl:4:" "${prepare[@]}" --input "$work/bad.jsonl" --output "$work/shards" --force
[ "$before" = "$(tree_sum "$work/shards")" ] || { echo "the refused or failed prepares changed the folder"; exit 1; }
[ -z "$(ls -d "$work"/shards.* 2>/dev/null)" ] || { echo "temporary folders left:"; ls "$work"; exit 1; }
"${prepare[@]}" --input "$work/good.jsonl" --input "$work/good.jsonl" --output "$work/shards" --force >"$work/summary.json"
[ ! -e "$work/shards/notes.txt" ] && grep -q '"documents":12' "$work/summary.json" &&
  grep -q '"documents": 12' "$work/shards/manifest.json" || { echo "--force did not replace the folder"; ls "$work/shards"; exit 1; }
[ -z "$(ls -d "$work"/shards.* 2>/dev/null)" ] || { echo "old or temporary folders left:"; ls "$work"; exit 1; }
echo "prepare --force: the folder replaced whole (12 documents, notes.txt gone)"
mkdir "$work/empty-dir"
"${prepare[@]}" --input "$work/good.jsonl" --output "$work/empty-dir" >/dev/null  # an empty folder is no obstacle

# 3. zen export
recipe=configs/recipes/zen-nano-lora.yaml
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" train.max_steps=2 train.seq_len=64
      train.global_batch_size=4 train.micro_batch_size=2 train.threads=1 output_dir="$work/run")
"$zen" train "$recipe" "${tiny[@]}" >"$work/train.log" 2>&1 || { tail "$work/train.log"; exit 1; }
"$zen" export "$recipe" "${tiny[@]}" --format peft --out "$work/peft" 2>"$work/export.log" ||
  { cat "$work/export.log"; exit 1; }
"$python" - "$work/peft" <<'PY'
import json, os, sys
out = sys.argv[1]
base = json.load(open(os.path.join(out, "adapter_config.json")))["base_model_name_or_path"]
assert base == os.path.join(out, "base") and os.path.isfile(os.path.join(base, "config.json")), base
print("export peft: base_model_name_or_path is the final folder's base/:", base)
PY
mkdir "$work/hf" && echo keep >"$work/hf/notes.txt"
expect_refused "export into a non-empty folder" "--out $work/hf: the folder is not empty; choose another or pass --force" \
  "$zen" export "$recipe" "${tiny[@]}" --format hf --out "$work/hf"
[ "$(ls "$work/hf")" = notes.txt ] || { echo "the refused export wrote into the folder"; ls "$work/hf"; exit 1; }
# A failure in the middle of the export (a corrupt shard is found while the model is read) leaves nothing.
cp -r "$work/run" "$work/run-corrupt"
"$python" -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-5]^=0xFF; open(p,'wb').write(b)" \
  "$work/run-corrupt/checkpoints/step-00000002/rank-00000.safetensors"
expect_refused "export --force, corrupt checkpoint" "size or sha256 differs" \
  "$zen" export "$recipe" "${tiny[@]}" output_dir="$work/run-corrupt" --format hf --out "$work/hf" --force
[ "$(ls "$work/hf")" = notes.txt ] && [ -z "$(ls -d "$work"/hf.* 2>/dev/null)" ] ||
  { echo "the failed export changed the folder or left a temporary one"; ls "$work"; exit 1; }
expect_refused "export, corrupt checkpoint" "size or sha256 differs" \
  "$zen" export "$recipe" "${tiny[@]}" output_dir="$work/run-corrupt" --format hf --out "$work/hf-new"
nothing_at "$work/hf-new"
"$zen" export "$recipe" "${tiny[@]}" --format hf --out "$work/hf" --force 2>"$work/export.log" || { cat "$work/export.log"; exit 1; }
[ -f "$work/hf/config.json" ] && [ -f "$work/hf/model.safetensors" ] && [ ! -e "$work/hf/notes.txt" ] ||
  { echo "export --force did not replace the folder"; ls "$work/hf"; exit 1; }
echo "export --force: the folder replaced whole"
echo PASS
