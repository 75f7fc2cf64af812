#!/usr/bin/env bash
# MoE layer throughput, forward + backward, in one run on this machine (one intra-op thread per process):
#   zen's block (sorted rows, one contiguous block per expert) against transformers' Qwen3MoeSparseMoeBlock
#   (a loop over experts with a mask per expert) on the same shapes, and zen with ep=1 against ep=2 (two
#   ranks under mpirun, each routing its own tokens, the experts split between them).
# usage: bash bench/moe/run.sh   (from the repo root, after building; SHAPE overrides the arguments)
set -euo pipefail
source bench/common.sh
SHAPE=${SHAPE:-"--tokens 4096 --hidden 512 --experts 8 --top-k 2 --expert-ffn 1024 --iters 10 --threads 1"}
OUT=${OUT:-/tmp/zen-bench/moe}
mkdir -p "$OUT"
results=$OUT/results.jsonl
: >"$results"
emit "{\"machine\": $(machine_json)}"
bin=build/bench/zen_moe_layer_bench
for round in 1 2; do
  emit "$(OMP_NUM_THREADS=1 "$bin" $SHAPE)"
  emit "$("$PY" bench/moe/hf_block.py $SHAPE)"
  emit "$(mpirun --oversubscribe --bind-to none -np 2 -x OMP_NUM_THREADS=1 "$bin" $SHAPE)"
done
"$PY" - "$results" "$SHAPE" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
machine = rows[0]["machine"]
runs = rows[1:]
def best(impl, ranks):
    return max((r for r in runs if r["impl"] == impl and r["ranks"] == ranks), key=lambda r: r["tokens_per_s_total"])
zen1, hf, zen2 = best("zen", 1), best("transformers-eager", 1), best("zen", 2)
print("machine: %s, %d cores, torch %s; shape: %s; best of 2 rounds" % (machine["cpu"], machine["cores"], machine["torch"], sys.argv[2]))
print("| implementation | ranks | ms per fwd+bwd | tokens/s total | ratio |")
print("| --- | --- | --- | --- | --- |")
print("| transformers Qwen3MoeSparseMoeBlock | 1 | %.1f | %.0f | 1.00 |" % (1e3 * hf["median_s"], hf["tokens_per_s_total"]))
print("| zen MoeBlock, ep=1 | 1 | %.1f | %.0f | %.2f |" % (1e3 * zen1["median_s"], zen1["tokens_per_s_total"], zen1["tokens_per_s_total"] / hf["tokens_per_s_total"]))
print("| zen MoeBlock, ep=2 | 2 | %.1f | %.0f | %.2f (vs ep=1: %.2f) |" % (1e3 * zen2["median_s"], zen2["tokens_per_s_total"], zen2["tokens_per_s_total"] / hf["tokens_per_s_total"], zen2["tokens_per_s_total"] / zen1["tokens_per_s_total"]))
PY
