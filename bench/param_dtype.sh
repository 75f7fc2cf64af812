#!/usr/bin/env bash
# Tokens/s and measured peak memory of bf16 parameters (train.param_dtype=bf16: bf16 weights, fp32 masters,
# bf16 compute) against fp32 parameters (fp32 compute), in one run on the same shape: per case and ROUNDS
# times, zen train with each (median tokens/s of the steps after the first, peak_memory_bytes from
# metrics.jsonl, peak RSS), the least disturbed round of each kept. The ratio is bf16 / fp32.
# Shape: the benchmarks' "small" (2 layers, hidden 256, 4 heads x 64, FFN 704, vocab 4096, seq 256,
# micro 8, global 16), with LoRA (the recipe's, rank 8) and with full fine-tuning.
#
# usage: bash bench/param_dtype.sh            # from the repo root; uses build/zen and .venv
#        THREADS=2 ROUNDS=1 bash bench/param_dtype.sh
# Writes OUT (/tmp/zen-bench/param_dtype)/results.jsonl and prints the Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
OUT=${OUT:-/tmp/zen-bench/param_dtype}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
mkdir -p "$OUT"
results=$OUT/results.jsonl
: >"$results"
emit "{\"machine\": $(machine_json)}"

shape=(data.source=demo model.layers=2 model.hidden=256 model.heads=4 model.kv_heads=4 model.head_dim=64
       model.ffn=704 model.vocab=4096 train.seq_len=256 train.micro_batch_size=8 train.global_batch_size=16
       train.max_steps=6)
for tuning in lora full; do
  extra=()
  [ $tuning = full ] && extra=("~lora")
  for round in $(seq "$ROUNDS"); do
    for dtype in fp32 bf16; do
      dir=$OUT/$tuning-$dtype
      z=$(zen_run "$dir" "$THREADS" -- "${shape[@]}" "${extra[@]}" train.param_dtype=$dtype)
      peak=$("$PY" -c 'import json, sys; print(max(json.loads(l)["peak_memory_bytes"] for l in open(sys.argv[1])))' \
        "$dir/out/metrics.jsonl")
      emit "{\"tuning\": \"$tuning\", \"param_dtype\": \"$dtype\", \"threads\": $THREADS, \"round\": $round, \"peak_memory_bytes\": $peak, \"run\": $z}"
    done
  done
done

"$PY" - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = {}
for r in rows:
    if "tuning" not in r:
        continue
    key = (r["tuning"], r["param_dtype"])
    if key not in best or r["run"]["median_step_s"] < best[key]["run"]["median_step_s"]:
        best[key] = r
print("| tuning | threads | fp32 params tok/s | bf16 params tok/s | bf16/fp32 | peak_memory_bytes fp32 / bf16 (ratio) | peak RSS fp32 / bf16 |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for tuning in ["lora", "full"]:
    a, b = best[(tuning, "fp32")], best[(tuning, "bf16")]
    print("| %s | %d | %.0f | %.0f | %.2f | %.1f / %.1f MiB (%.2f) | %d / %d MiB |" % (
        "LoRA r8" if tuning == "lora" else "full fine-tune", a["threads"], a["run"]["tokens_per_s"],
        b["run"]["tokens_per_s"], b["run"]["tokens_per_s"] / a["run"]["tokens_per_s"],
        a["peak_memory_bytes"] / 2**20, b["peak_memory_bytes"] / 2**20, b["peak_memory_bytes"] / a["peak_memory_bytes"],
        a["run"]["peak_rss_mib"], b["run"]["peak_rss_mib"]))
PY
