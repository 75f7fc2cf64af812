#!/usr/bin/env bash
# Checkpoints under mpirun and in one process:
#   1. exact resume: a run that fails after step 3 and is started again with the same command line gives
#      steps 4-6 bit-identical to an uninterrupted run (one process with LoRA dropout: the RNG is restored;
#      tp=2 × pp=2 full fine-tuning; dp=2 with ZeRO-1), and metrics.jsonl holds each step once;
#   2. resharding: the tp=2 × pp=2 checkpoint of step 3 continues on 1 process, dp=2 and pp=4, and an
#      ep=2 MoE checkpoint on ep=1, within 1e-5 of the uninterrupted run;
#   3. kill -9 of one rank in the middle of a save leaves the previous checkpoint as `latest`, and the
#      same command line resumes from it and finishes with the uninterrupted run's losses;
#   4. bad checkpoints: a corrupt shard, a truncated manifest and another model's checkpoint exit 2 with
#      a message naming the file, and leave the checkpoint as it was; checkpoint.keep bounds what is kept;
#   5. a full disk during a save (a 1.3 MB tmpfs: the step-3 checkpoint fits, step 6's does not) fails
#      with a message naming the file, and the step-3 checkpoint stays `latest` and resumes;
#   6. checkpoint.async=true (shards written on a background thread, committed at the next save) writes
#      the same files as a synchronous save, and a run resumed from one continues bit-identically.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'umount "$work/small-disk" 2>/dev/null || true; rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=4 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=2 train.max_steps=6
      train.seq_len=64 train.global_batch_size=8 train.micro_batch_size=2 train.threads=1 parallel.timeout_s=60
      checkpoint.interval=3)

train() {  # train RANKS DIR [OVERRIDES...]: exit status kept in $rc, log in DIR.log
  local ranks=$1 dir=$2
  shift 2
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  rc=0
  "${launcher[@]}" "$zen" train "$recipe" "${tiny[@]}" "$@" output_dir="$dir" >>"$dir.log" 2>&1 || rc=$?
}
must() { [ "$rc" = 0 ] || { echo "run failed ($rc):"; tail -20 "$1.log"; exit 1; }; }
# A checkpoint of step 3 only, as if the run had stopped there: copied from an uninterrupted run.
at_step3() {  # at_step3 FROM TO
  mkdir -p "$2/checkpoints"
  cp -r "$1/checkpoints/step-00000003" "$2/checkpoints/"
  echo step-00000003 >"$2/checkpoints/latest"
}

# 1. exact resume after a failure at step 4
for case in "lora:1:lora.dropout=0.1" "full:4:~lora parallel.tensor=2 parallel.pipeline=2" "zero:2:~lora parallel.zero=1"; do
  IFS=: read -r name ranks overrides <<<"$case"
  read -ra ov <<<"$overrides"
  train "$ranks" "$work/$name-whole" "${ov[@]}"; must "$work/$name-whole"
  ZEN_TEST_FAULT=0:4:fail train "$ranks" "$work/$name-cut" "${ov[@]}"
  [ "$rc" != 0 ] || { echo "$name: the injected failure did not stop the run"; exit 1; }
  train "$ranks" "$work/$name-cut" "${ov[@]}"; must "$work/$name-cut"
  grep -q "resumed from .*step-00000003" "$work/$name-cut.log" || { echo "$name: did not resume"; exit 1; }
done

# 2. resharding the tp=2 × pp=2 checkpoint of step 3
for target in "1:" "2:" "4:parallel.pipeline=4"; do
  IFS=: read -r ranks overrides <<<"$target"
  read -ra ov <<<"$overrides"
  dir=$work/reshard-$ranks-${overrides//[^0-9]/}
  at_step3 "$work/full-whole" "$dir"
  train "$ranks" "$dir" "~lora" "${ov[@]}"; must "$dir"
done
moe=(model.experts=4 model.top_k=2 model.expert_ffn=32 "lora.targets=[router,experts.*.wi,experts.*.wo]")
train 2 "$work/moe-ep2" "${moe[@]}" parallel.expert=2; must "$work/moe-ep2"
at_step3 "$work/moe-ep2" "$work/moe-ep1"
train 1 "$work/moe-ep1" "${moe[@]}"; must "$work/moe-ep1"

# 3. kill -9 of rank 1 while it saves step 6 (after writing its shard, before the commit)
ZEN_TEST_FAULT=1:6:killsave train 2 "$work/killed" "~lora"
[ "$rc" != 0 ] || { echo "the killed save did not end the job"; exit 1; }
[ "$(cat "$work/killed/checkpoints/latest")" = step-00000003 ] || { echo "latest moved past the broken save"; exit 1; }
[ -d "$work/killed/checkpoints/.step-00000006.tmp" ] || { echo "expected the abandoned save folder"; exit 1; }
train 2 "$work/killed" "~lora"; must "$work/killed"
train 2 "$work/killed-whole" "~lora"; must "$work/killed-whole"
[ ! -e "$work/killed/checkpoints/.step-00000006.tmp" ] || { echo "the abandoned save folder was not cleaned"; exit 1; }

"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def rows(run):
    return [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))]
failures = []
for name in ["lora", "full", "zero"]:
    whole, cut = rows(name + "-whole"), rows(name + "-cut")
    assert [r["step"] for r in cut] == [1, 2, 3, 4, 5, 6], (name, [r["step"] for r in cut])
    same = [a["loss"] == b["loss"] and a["grad_norm"] == b["grad_norm"] for a, b in zip(whole, cut)]
    print("exact resume %-5s losses after resume %s, bit-identical: %s" % (name, [r["loss"] for r in cut[3:]], all(same)))
    if not all(same):
        failures.append("%s: resumed losses differ: %s vs %s" % (name, [r["loss"] for r in whole], [r["loss"] for r in cut]))
def reshard(base, run):
    whole, resumed = rows(base), rows(run)
    assert [r["step"] for r in resumed] == [4, 5, 6], (run, [r["step"] for r in resumed])
    worst = max(abs(a["loss"] - b["loss"]) / a["loss"] for a, b in zip(whole[3:], resumed))
    print("reshard %-16s -> worst relative loss difference over steps 4-6: %.2e" % (run, worst))
    if worst > 1e-5:
        failures.append("%s: %.3g" % (run, worst))
for run in ["reshard-1-", "reshard-2-", "reshard-4-4"]:
    reshard("full-whole", run)
reshard("moe-ep2", "moe-ep1")
killed, whole = rows("killed"), rows("killed-whole")
assert [r["step"] for r in killed] == [1, 2, 3, 4, 5, 6], [r["step"] for r in killed]
if [r["loss"] for r in killed] != [r["loss"] for r in whole]:
    failures.append("after kill -9: %s vs %s" % ([r["loss"] for r in killed], [r["loss"] for r in whole]))
print("kill -9 mid-save, resumed: losses equal to the uninterrupted run: %s" % ([r["loss"] for r in killed] == [r["loss"] for r in whole]))
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY

# 4. bad checkpoints exit 2 naming the file, and are left as they were
expect_bad() {  # expect_bad WHAT DIR OVERRIDES...
  local what=$1 dir=$2
  shift 2
  local before
  before=$(find "$dir/checkpoints" -type f -exec sha256sum {} + | sort)
  train 1 "$dir" "~lora" "$@"
  [ "$rc" = 2 ] || { echo "expected exit 2 ($what), got $rc"; tail "$dir.log"; exit 1; }
  tail -1 "$dir.log" | grep -q "$what" || { echo "no message naming $what"; tail -3 "$dir.log"; exit 1; }
  [ "$before" = "$(find "$dir/checkpoints" -type f -exec sha256sum {} + | sort)" ] || { echo "the checkpoint changed"; exit 1; }
}
at_step3 "$work/full-whole" "$work/corrupt"
"$python" -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-5]^=0xFF; open(p,'wb').write(b)" \
  "$work/corrupt/checkpoints/step-00000003/rank-00002.safetensors"
expect_bad "rank-00002.safetensors: size or sha256 differs" "$work/corrupt"
at_step3 "$work/full-whole" "$work/truncated"
truncate -s 20 "$work/truncated/checkpoints/step-00000003/manifest.pb"
expect_bad "manifest.pb: not a zen checkpoint manifest" "$work/truncated"
at_step3 "$work/full-whole" "$work/other"
expect_bad "another model" "$work/other" model.hidden=128 model.head_dim=32
# checkpoint.keep=1: one complete checkpoint remains
train 1 "$work/keep" "~lora" checkpoint.interval=2 checkpoint.keep=1; must "$work/keep"
[ "$(ls "$work/keep/checkpoints" | grep -c '^step-')" = 1 ] || { ls "$work/keep/checkpoints"; exit 1; }

# 5. a full disk in the middle of a save
disk=$work/small-disk
mkdir -p "$disk"
if mount -t tmpfs -o size=1300k tmpfs "$disk" 2>"$work/mount.err"; then
  train 1 "$disk/run"
  [ "$rc" != 0 ] || { umount "$disk"; echo "a save on a full disk did not fail"; exit 1; }
  grep -q "rank-00000.safetensors.*No space left on device" "$disk/run.log" ||
    { cat "$disk/run.log"; umount "$disk"; echo "no message naming the file"; exit 1; }
  [ "$(cat "$disk/run/checkpoints/latest")" = step-00000003 ] || { umount "$disk"; echo "latest moved"; exit 1; }
  cp -r "$disk/run" "$work/after-full"
  umount "$disk"
  train 1 "$work/after-full"; must "$work/after-full"
  grep -q "resumed from .*step-00000003" "$work/after-full.log" || { echo "did not resume after the full disk"; exit 1; }
  echo "full disk: the failed save named its file; step 3 resumed"
else
  echo "SKIP full-disk check: cannot mount a tmpfs here ($(cat "$work/mount.err"))"
fi

# 6. asynchronous saves: the same shards as synchronous ones, and they resume exactly
train 2 "$work/async" "~lora" checkpoint.async=true checkpoint.keep=0; must "$work/async"
train 2 "$work/sync" "~lora" checkpoint.keep=0; must "$work/sync"
for step in step-00000003 step-00000006; do
  for rank in rank-00000.safetensors rank-00001.safetensors; do
    cmp -s "$work/async/checkpoints/$step/$rank" "$work/sync/checkpoints/$step/$rank" 2>/dev/null ||
      [ ! -e "$work/sync/checkpoints/$step/$rank" ] || { echo "async $step/$rank differs from the synchronous save"; exit 1; }
  done
done
at_step3 "$work/async" "$work/async-resumed"
train 2 "$work/async-resumed" "~lora" checkpoint.async=true; must "$work/async-resumed"
"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
rows = lambda run: [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))]
whole, resumed = rows("sync"), rows("async-resumed")
assert [r["loss"] for r in whole[3:]] == [r["loss"] for r in resumed], (whole, resumed)
print("async checkpoints: shards equal to synchronous ones; resumed losses bit-identical")
PY
echo PASS
