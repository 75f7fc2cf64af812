#!/usr/bin/env bash
# zen's training throughput against the same step as an eager PyTorch loop (bench/eager_qwen3.py), in one run:
#   1. the CPU's fp32 matmul peak (best GFLOP/s of five 4096^3 torch.matmul) at 1 and 2 threads;
#   2. per shape and thread count, ROUNDS times: zen train (median tokens/s of the steps after the first,
#      from metrics.jsonl) then the eager loop on the same shape, batch, accumulation and optimizer, each
#      under /usr/bin/time -v (peak RSS). The table keeps each side's least disturbed round (lowest median
#      step) and gives the ratio zen/eager and the MFU against the measured peak (formula: bench/report.py).
# Shapes: "small" (2 layers, hidden 256, vocab 4096, seq 256, 2 micro-batches of 8) with LoRA (rank 8 on
# q,v,o,gate,up,down, the recipe's) and with full fine-tuning, and "nano" (the real Zen-Nano: 24 layers,
# hidden 1024, ffn 2816, vocab 151936, tied; the recipe's LoRA) at seq 256, micro 1, global 2.
#
# usage: bash bench/train_vs_eager.sh            # from the repo root; uses build/zen and .venv
#        THREADS="1" SHAPES="small nano" ROUNDS=2 bash bench/train_vs_eager.sh
# Writes OUT (/tmp/zen-bench/train_vs_eager)/results.jsonl and prints the Markdown table for
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
OUT=${OUT:-/tmp/zen-bench/train_vs_eager}
THREADS=${THREADS:-"1 2"}
SHAPES=${SHAPES:-"small small_full nano"}
ROUNDS=${ROUNDS:-2}
mkdir -p "$OUT"
results=$OUT/results.jsonl
: >"$results"
emit "{\"machine\": $(machine_json)}"

# name -> "layers hidden heads kv_heads head_dim ffn vocab seq micro global steps lora(0/1)"
declare -A SHAPE=(
  [small]="2 256 4 4 64 704 4096 256 8 16 6 1"
  [small_full]="2 256 4 4 64 704 4096 256 8 16 6 0"
  [nano]="24 1024 16 16 64 2816 151936 256 1 2 4 1"
)

for threads in $THREADS; do
  t=$(timed "$OUT/peak-t$threads" "$threads" "$PY" -c "
import json, time, torch
torch.set_num_threads($threads)
n = 4096
a, b = torch.randn(n, n), torch.randn(n, n)
torch.matmul(a, b)
best = 1e9
for _ in range(5):
    t = time.perf_counter(); torch.matmul(a, b); best = min(best, time.perf_counter() - t)
print(json.dumps({'gflops': 2 * n**3 / best / 1e9}))")
  emit "{\"threads\": $threads, \"peak\": $(merge "$(cat "$OUT/peak-t$threads/stdout")" "$t")}"
done

for name in $SHAPES; do
  read -r L C H KV HD F V T MB GB STEPS LORA <<<"${SHAPE[$name]}"
  shape="\"shape\": \"$name\", \"layers\": $L, \"hidden\": $C, \"heads\": $H, \"kv_heads\": $KV, \"head_dim\": $HD, \"ffn\": $F"
  shape+=", \"vocab\": $V, \"seq\": $T, \"micro\": $MB, \"global\": $GB, \"lora\": $LORA"
  zen_shape=(data.source=demo model.layers="$L" model.hidden="$C" model.heads="$H" model.kv_heads="$KV"
    model.head_dim="$HD" model.ffn="$F" model.vocab="$V" train.seq_len="$T" train.micro_batch_size="$MB"
    train.global_batch_size="$GB" train.max_steps="$STEPS" train.dtype=fp32)
  eager_shape=(--layers "$L" --hidden "$C" --heads "$H" --kv-heads "$KV" --head-dim "$HD" --ffn "$F" --vocab "$V"
    --seq "$T" --micro "$MB" --global-batch "$GB" --steps "$STEPS")
  ((LORA)) || { zen_shape+=("~lora"); eager_shape+=(--full); }
  for threads in $THREADS; do
    for round in $(seq "$ROUNDS"); do
      z=$(zen_run "$OUT/$name-t$threads-zen" "$threads" -- "${zen_shape[@]}")
      emit "{$shape, \"threads\": $threads, \"round\": $round, \"impl\": \"zen\", \"run\": $z}"
      dir=$OUT/$name-t$threads-eager
      t=$(timed "$dir" "$threads" "$PY" bench/eager_qwen3.py "${eager_shape[@]}" --threads "$threads")
      emit "{$shape, \"threads\": $threads, \"round\": $round, \"impl\": \"eager\", \"run\": $(merge "$(cat "$dir/stdout")" "$t")}"
    done
  done
done

"$PY" bench/report.py train_vs_eager "$results"
