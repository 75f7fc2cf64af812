#!/usr/bin/env bash
# Preemption (trainer/preemption.h): a SIGTERM in the middle of a run
#   1. to one process: it saves a checkpoint at the next step boundary and exits 75;
#   2. to rank 1 only of a 2-rank mpirun job: both ranks stop after the same step (the flag is agreed by an
#      all-reduce), the checkpoint of that step exists, the job exits 75;
# and in both, the same command line run again resumes from that checkpoint, metrics.jsonl holds every
# step once, and the losses equal an uninterrupted run's bit for bit.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source tests/cli/lib/preempt.sh
recipe=configs/recipes/zen-nano-lora.yaml
steps=30
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=2
      train.max_steps=$steps train.seq_len=128 train.global_batch_size=8 train.micro_batch_size=2
      train.threads=1 parallel.timeout_s=60 checkpoint.interval=20 lora.dropout=0.1)
mpi+=(-np 2)

run() {  # run NAME [LAUNCHER...]: the tiny run into $work/NAME, in the foreground; exit status in $rc
  local name=$1
  shift
  rc=0
  "$@" "$zen" train "$recipe" "${tiny[@]}" output_dir="$work/$name" >>"$work/$name.log" 2>&1 || rc=$?
}

for case in one mpi; do
  launcher=()
  [ "$case" = mpi ] && launcher=("${mpi[@]}")
  run "$case-whole" "${launcher[@]}"
  [ "$rc" = 0 ] || { tail -20 "$work/$case-whole.log"; exit 1; }
  # The interrupted run: SIGTERM once 4 steps are logged (one process: zen itself; mpirun: rank 1 only).
  "${launcher[@]}" "$zen" train "$recipe" "${tiny[@]}" output_dir="$work/$case-cut" >"$work/$case-cut.log" 2>&1 &
  job=$!
  wait_for_steps "$work/$case-cut" 4 "$job"
  target=$job
  [ "$case" = mpi ] && target=$(rank_pid 1 "$work/$case-cut")
  kill -TERM "$target"
  rc=0
  wait "$job" || rc=$?
  expect_preempted "$case" "$work/$case-cut" "$work/$case-cut.log" "$rc" SIGTERM
  run "$case-cut" "${launcher[@]}"
  [ "$rc" = 0 ] || { tail -20 "$work/$case-cut.log"; exit 1; }
  grep -q "resumed from .*step-$(printf %08d "$stopped")" "$work/$case-cut.log" || { echo "$case: did not resume"; exit 1; }
  same_losses "$work/$case-whole" "$work/$case-cut" "$steps"
done
echo PASS
