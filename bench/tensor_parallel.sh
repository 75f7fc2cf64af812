#!/usr/bin/env bash
# Tensor parallelism on a CPU: the step time of one compute-bound full fine-tuning step (~lora) laid out as
#   tp1   1 rank  x 1 thread           (the baseline)
#   t2    1 rank  x 2 intra-op threads
#   tp2   2 ranks x 1 thread, parallel.tensor=2 (mpirun, MPI collectives)
#   dp2   2 ranks x 1 thread, data parallel (each rank half the global batch)
# with the bytes rank 0 sends into collectives per step (metrics.jsonl comm_bytes) beside the count the
# layout predicts (bench/report.py predicted_comm). ROUNDS (2) passes over the four layouts; the table keeps
# each layout's least disturbed pass (lowest median step; bench/common.sh says how load is recorded).
# Shape: 2 layers, hidden 1024, 16 heads x 64, ffn 4096, vocab 4096, seq 256, global batch 4, micro 2.
#
# usage: bash bench/tensor_parallel.sh        # from the repo root; uses build/zen and .venv
# Writes OUT (/tmp/zen-bench/tensor_parallel)/results.jsonl and prints the Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
OUT=${OUT:-/tmp/zen-bench/tensor_parallel}
STEPS=${STEPS:-5}
ROUNDS=${ROUNDS:-2}
mkdir -p "$OUT"
results=$OUT/results.jsonl
: >"$results"
emit "{\"machine\": $(machine_json)}"

L=2 C=1024 H=16 HD=64 F=4096 V=4096 T=256 GB=4 MB=2
shape="\"layers\": $L, \"hidden\": $C, \"heads\": $H, \"kv_heads\": $H, \"head_dim\": $HD, \"ffn\": $F, \"vocab\": $V"
shape+=", \"seq\": $T, \"global\": $GB, \"micro\": $MB, \"lora\": 0"
args=(data.source=demo model.layers=$L model.hidden=$C model.heads=$H model.kv_heads=$H model.head_dim=$HD
  model.ffn=$F model.vocab=$V train.seq_len=$T train.global_batch_size=$GB train.micro_batch_size=$MB
  train.max_steps="$STEPS" train.dtype=fp32 "~lora")

run() {  # run LAYOUT RANKS THREADS [ZEN_RUN ARGS...]
  local layout=$1 ranks=$2 threads=$3
  shift 3
  local z
  z=$(zen_run "$OUT/$layout" "$threads" "$@")
  emit "{\"layout\": \"$layout\", \"ranks\": $ranks, \"threads\": $threads, \"round\": $round, $shape, \"run\": $z}"
}

for round in $(seq "$ROUNDS"); do  # the layouts interleaved, so each round sees similar contention
  run tp1 1 1 -- "${args[@]}"
  run t2 1 2 -- "${args[@]}"
  run tp2 2 1 mpirun -np 2 -- "${args[@]}" parallel.tensor=2
  run dp2 2 1 mpirun -np 2 -- "${args[@]}"
done

"$PY" bench/report.py tensor_parallel "$results"
