#!/usr/bin/env bash
# Ctrl-C (SIGINT) during `zen train` (trainer/preemption.h, docs/launch.md):
#   1. the first SIGINT finishes the step, saves a checkpoint and exits 130 saying so; the same command
#      line resumes, and the losses equal an uninterrupted run's bit for bit;
#   2. a second SIGINT stops at once: the run, held in its first step (ZEN_TEST_FAULT=0:1:hang) so no
#      step boundary can come between the two signals, dies by the signal with nothing saved.
set -euo pipefail
set -m  # job control: background jobs get their own process group and keep SIGINT (bash ignores it otherwise)
zen=$1 src=$2 python=$3
cd "$src"
export OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source tests/cli/lib/preempt.sh
recipe=configs/recipes/zen-nano-lora.yaml
steps=30
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=2
      train.max_steps=$steps train.seq_len=128 train.global_batch_size=8 train.micro_batch_size=2
      train.threads=1 checkpoint.interval=20 lora.dropout=0.1)

# catches_sigint PID: whether the process has a SIGINT handler installed (SigCgt bit 2 of /proc/PID/status).
catches_sigint() { (( 0x$(awk '/^SigCgt/ {print $2}' "/proc/$1/status") & 2 )); }

rc=0
"$zen" train "$recipe" "${tiny[@]}" output_dir="$work/whole" >"$work/whole.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || { tail -20 "$work/whole.log"; exit 1; }

# 1. one Ctrl-C once 4 steps are logged
"$zen" train "$recipe" "${tiny[@]}" output_dir="$work/cut" >"$work/cut.log" 2>&1 &
job=$!
wait_for_steps "$work/cut" 4 "$job"
kill -INT "$job"
rc=0
wait "$job" || rc=$?
expect_preempted sigint "$work/cut" "$work/cut.log" "$rc" SIGINT 130 interrupted
rc=0
"$zen" train "$recipe" "${tiny[@]}" output_dir="$work/cut" >>"$work/cut.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || { tail -20 "$work/cut.log"; exit 1; }
grep -q "resumed from .*step-$(printf %08d "$stopped")" "$work/cut.log" || { echo "did not resume"; exit 1; }
same_losses "$work/whole" "$work/cut" "$steps"

# 2. two Ctrl-Cs: the second once the first has been taken (the one-shot handler is gone)
ZEN_TEST_FAULT=0:1:hang "$zen" train "$recipe" "${tiny[@]}" output_dir="$work/twice" >"$work/twice.log" 2>&1 &
job=$!
deadline=$((SECONDS + 60))
# (the pid runs zen, not the shell that forked it, before its handlers count)
until [ "$(readlink "/proc/$job/exe")" = "$(realpath "$zen")" ] && catches_sigint "$job"; do
  [ "$SECONDS" -lt "$deadline" ] && kill -0 "$job" 2>/dev/null || { echo "no SIGINT handler installed"; exit 1; }
  sleep 0.05
done
kill -INT "$job"
while catches_sigint "$job"; do sleep 0.05; done
kill -INT "$job"
rc=0
wait "$job" || rc=$?
[ "$rc" = 130 ] || { echo "two SIGINTs: expected the process to die by SIGINT (130), got $rc"; tail "$work/twice.log"; exit 1; }
! grep -q "checkpoint saved" "$work/twice.log" && [ ! -e "$work/twice/checkpoints/latest" ] ||
  { echo "two SIGINTs: expected no save"; tail "$work/twice.log"; exit 1; }
echo "two SIGINTs while a step hangs: stopped at once by the second (exit 130), nothing saved"
echo PASS
