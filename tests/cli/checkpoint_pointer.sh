#!/usr/bin/env bash
# A bad `latest` pointer never costs a checkpoint (checkpoints/checkpoint.h, docs/checkpoints.md):
#   1. `latest` empty, or naming a folder that does not exist: the run says so on stderr and resumes from
#      the newest complete checkpoint found by scanning (not from step 0), bit-identically;
#   2. train.resume_from=STEP resumes from an earlier checkpoint although newer ones exist, and rotation
#      (checkpoint.keep=1) keeps the checkpoint it just saved, which `latest` names, and leaves the newer
#      one alone (rotation by name used to delete the fresh save and leave `latest` dangling);
#   3. a corrupt newest checkpoint exits 2 naming train.resume_from and the earlier complete steps, and
#      train.resume_from=4 (or the folder's path) then resumes bit-identically;
#   4. train.resume_from naming no complete checkpoint exits 2 listing the complete ones.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
export OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=2 train.max_steps=6
      train.seq_len=64 train.global_batch_size=8 train.micro_batch_size=2 train.threads=1 checkpoint.interval=2
      lora.dropout=0.1)

train() {  # train DIR [OVERRIDES...]: exit status in $rc, stdout and stderr in DIR.log
  local dir=$1
  shift
  rc=0
  "$zen" train "$recipe" "${tiny[@]}" output_dir="$dir" "$@" >"$dir.log" 2>&1 || rc=$?
}
must() { [ "$rc" = 0 ] || { echo "$1: run failed ($rc):"; tail -20 "$1.log"; exit 1; }; }
says() { grep -qF -- "$2" "$1.log" || { echo "$1: expected '$2' in its log:"; tail -20 "$1.log"; exit 1; }; }
# copy_run DIR STEP...: the uninterrupted run's checkpoints of these steps, `latest` naming the last.
copy_run() {
  local dir=$1 step
  shift
  mkdir -p "$dir/checkpoints"
  for step in "$@"; do cp -r "$work/whole/checkpoints/step-$(printf %08d "$step")" "$dir/checkpoints/"; done
  printf 'step-%08d\n' "${!#}" >"$dir/checkpoints/latest"
}
# same_as_whole DIR FIRST LAST: DIR's metrics hold steps FIRST..LAST with the uninterrupted run's losses.
same_as_whole() {
  "$python" - "$work/whole" "$1" "$2" "$3" <<'PY' || exit 1
import json, sys
rows = lambda d: [json.loads(l) for l in open(d + "/metrics.jsonl")]
whole = {r["step"]: r["loss"] for r in rows(sys.argv[1])}
cut = rows(sys.argv[2])
steps = list(range(int(sys.argv[3]), int(sys.argv[4]) + 1))
assert [r["step"] for r in cut] == steps, (sys.argv[2], [r["step"] for r in cut])
assert all(r["loss"] == whole[r["step"]] for r in cut), [(r["loss"], whole[r["step"]]) for r in cut]
print("  %s: steps %s with the uninterrupted run's losses, bit for bit" % (sys.argv[2].split("/")[-1], steps))
PY
}

train "$work/whole" checkpoint.keep=0; must "$work/whole"

# 1. an empty and a dangling `latest`
copy_run "$work/empty" 2 4
: >"$work/empty/checkpoints/latest"
copy_run "$work/dangling" 2 4
echo step-00000099 >"$work/dangling/checkpoints/latest"
for case in empty dangling; do
  train "$work/$case"; must "$work/$case"
  says "$work/$case" "using the newest complete checkpoint found by scanning, $work/$case/checkpoints/step-00000004"
  says "$work/$case" "resumed from $work/$case/checkpoints/step-00000004 (step 4)"
  same_as_whole "$work/$case" 5 6
done
grep -qF "latest is empty" "$work/empty.log" && grep -qF "latest names step-00000099, which is no complete" "$work/dangling.log" ||
  { echo "the messages do not say what was wrong with latest"; exit 1; }

# 2. resume_from an earlier step, with rotation keeping only one checkpoint; the run fails at step 5, after
#    saving step 4, so what rotation left can be looked at, and is then resumed without the override.
copy_run "$work/earlier" 2 4 6
ZEN_TEST_FAULT=0:5:fail train "$work/earlier" train.resume_from=2 checkpoint.keep=1
[ "$rc" = 1 ] || { echo "the injected failure at step 5 did not stop the run ($rc)"; tail "$work/earlier.log"; exit 1; }
says "$work/earlier" "resumed from $work/earlier/checkpoints/step-00000002 (step 2)"
says "$work/earlier" "train.resume_from=2: continuing from step 2, not from the newer step 6"
[ "$(cat "$work/earlier/checkpoints/latest")" = step-00000004 ] && [ -f "$work/earlier/checkpoints/step-00000004/manifest.pb" ] ||
  { echo "rotation: latest is not the complete step-4 checkpoint just saved"; ls -R "$work/earlier/checkpoints"; exit 1; }
[ ! -e "$work/earlier/checkpoints/step-00000002" ] && [ -d "$work/earlier/checkpoints/step-00000006" ] ||
  { echo "rotation: expected step 2 rotated out and the newer step 6 left alone"; ls "$work/earlier/checkpoints"; exit 1; }
echo "rotation with checkpoint.keep=1 after resume_from=2: kept step-4 (latest) and the newer step-6"
cp "$work/earlier.log" "$work/earlier-first.log"
train "$work/earlier" checkpoint.keep=1; must "$work/earlier"
says "$work/earlier" "resumed from $work/earlier/checkpoints/step-00000004 (step 4)"
same_as_whole "$work/earlier" 3 6

# 3. a corrupt newest checkpoint: the message names the way out, which works
copy_run "$work/corrupt" 2 4 6
"$python" -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-5]^=0xFF; open(p,'wb').write(b)" \
  "$work/corrupt/checkpoints/step-00000006/rank-00000.safetensors"
train "$work/corrupt"
[ "$rc" = 2 ] || { echo "corrupt newest checkpoint: expected exit 2, got $rc"; tail "$work/corrupt.log"; exit 1; }
says "$work/corrupt" "step-00000006/rank-00000.safetensors: size or sha256 differs"
says "$work/corrupt" "resume from an earlier checkpoint with train.resume_from=STEP (complete ones in $work/corrupt/checkpoints: step 2, 4)"
echo "corrupt newest: exit 2, '$(grep -o 'resume from an earlier.*' "$work/corrupt.log")'"
cp "$work/corrupt.log" "$work/corrupt-refused.log"
train "$work/corrupt" train.resume_from=4; must "$work/corrupt"
says "$work/corrupt" "resumed from $work/corrupt/checkpoints/step-00000004 (step 4)"
same_as_whole "$work/corrupt" 5 6
train "$work/by-path" train.resume_from="$work/whole/checkpoints/step-00000004"; must "$work/by-path"
says "$work/by-path" "resumed from $work/whole/checkpoints/step-00000004 (step 4)"
same_as_whole "$work/by-path" 5 6

# 4. resume_from naming no complete checkpoint
copy_run "$work/missing" 2 4
train "$work/missing" train.resume_from=3
[ "$rc" = 2 ] || { echo "resume_from=3: expected exit 2, got $rc"; tail "$work/missing.log"; exit 1; }
says "$work/missing" "train.resume_from=3: $work/missing/checkpoints/step-00000003 is no complete checkpoint (complete ones in $work/missing/checkpoints: step 2, 4)"
echo "resume_from=3: exit 2, '$(tail -1 "$work/missing.log")'"
echo PASS
