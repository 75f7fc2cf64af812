#!/usr/bin/env bash
# Activation recomputation on a CPU: step time and measured peak tensor memory (metrics.jsonl
# peak_memory_bytes) of train.recompute=none, selective and full at one shape, interleaved over ROUNDS (2)
# passes; the table keeps each mode's least disturbed pass (lowest median step) and gives the ratios to
# none from the same invocation (bench/common.sh says how load is recorded).
# Shape: full fine-tune, 4 layers, hidden 256, 4 heads x 64 (2 KV), ffn 704, vocab 4096, seq 512, micro 2,
# global 4, fp32, 1 thread.
#
# usage: bash bench/recompute.sh        # from the repo root; uses build/zen and .venv
# Writes OUT (/tmp/zen-bench/recompute)/results.jsonl and prints the Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
OUT=${OUT:-/tmp/zen-bench/recompute}
STEPS=${STEPS:-5}
ROUNDS=${ROUNDS:-2}
mkdir -p "$OUT"
results=$OUT/results.jsonl
: >"$results"
emit "{\"machine\": $(machine_json)}"

L=4 C=256 H=4 KV=2 HD=64 F=704 V=4096 T=512 GB=4 MB=2
shape="layers $L, hidden $C, $H heads x $HD ($KV KV), ffn $F, vocab $V, seq $T, micro $MB, global $GB, full fine-tune, fp32, 1 thread"
args=(data.source=demo model.layers=$L model.hidden=$C model.heads=$H model.kv_heads=$KV model.head_dim=$HD
  model.ffn=$F model.vocab=$V train.seq_len=$T train.global_batch_size=$GB train.micro_batch_size=$MB
  train.max_steps="$STEPS" train.dtype=fp32 "~lora")

for round in $(seq "$ROUNDS"); do  # the modes interleaved, so each round sees similar contention
  for mode in none selective full; do
    z=$(zen_run "$OUT/$mode-$round" 1 -- "${args[@]}" train.recompute=$mode)
    peak=$("$PY" -c 'import json, sys; print(max(json.loads(l)["peak_memory_bytes"] for l in open(sys.argv[1])))' \
      "$OUT/$mode-$round/out/metrics.jsonl")
    emit "{\"mode\": \"$mode\", \"round\": $round, \"peak_memory_bytes\": $peak, \"run\": $z}"
  done
done

"$PY" - "$results" "$shape" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]
best = {}
for r in rows:
    if r["mode"] not in best or r["run"]["median_step_s"] < best[r["mode"]]["run"]["median_step_s"]:
        best[r["mode"]] = r
base = best["none"]
print("Shape: %s.\n" % sys.argv[2])
print("| recompute | median step | vs none | peak tensor memory | vs none | load before/after, others |")
print("| --- | --- | --- | --- | --- | --- |")
for mode in ["none", "selective", "full"]:
    r = best[mode]
    print("| %s | %.3f s | %.2f x | %.1f MB | %.2f x | %s / %s, %.2f |" % (
        mode, r["run"]["median_step_s"], r["run"]["median_step_s"] / base["run"]["median_step_s"],
        r["peak_memory_bytes"] / 1e6, r["peak_memory_bytes"] / base["peak_memory_bytes"],
        r["run"]["load_before"], r["run"]["load_after"], r["run"]["others"]))
EOF
