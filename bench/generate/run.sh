#!/usr/bin/env bash
# Greedy generation throughput, in one run on this machine (one intra-op thread): zen with its KV cache,
# zen recomputing the prefix for every token, and transformers' generate (with its cache), on the same
# random-weight shapes: vocab 4096, a 16-token prompt, 128 new tokens. Prints a Markdown table.
# usage: bash bench/generate/run.sh   (from the repo root, after building; BUILD=build names the build folder)
set -euo pipefail
source bench/common.sh
BUILD=${BUILD:-build}
OUT=${OUT:-/tmp/zen-bench/generate}
COMMON=${COMMON:-"--vocab 4096 --prompt-tokens 16 --new-tokens 128 --repeats 3 --threads 1"}
SHAPES=("--layers 2 --hidden 256 --heads 4 --kv-heads 2 --ffn 768"
        "--layers 8 --hidden 512 --heads 8 --kv-heads 4 --ffn 1536")
mkdir -p "$OUT"
results=$OUT/results.jsonl
: >"$results"
emit "{\"machine\": $(machine_json)}"
for shape in "${SHAPES[@]}"; do
  wait_for_quiet
  before=$(load1)
  OMP_NUM_THREADS=1 "$BUILD/bench/zen_generate_bench" $shape $COMMON >"$OUT/zen.jsonl"
  OMP_NUM_THREADS=1 "$PY" bench/generate/hf_generate.py $shape $COMMON >"$OUT/hf.jsonl"
  while read -r line; do emit "$(merge "$line" "{\"load_before\": $before, \"load_after\": $(load1)}")"; done \
    < <(cat "$OUT/zen.jsonl" "$OUT/hf.jsonl")
done
"$PY" - "$results" "$COMMON" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
machine, runs = rows[0]["machine"], rows[1:]
print("machine: %s, %d cores, torch %s; %s; best of the repeats; load average %s..%s" % (
    machine["cpu"], machine["cores"], machine["torch"], sys.argv[2],
    min(r["load_before"] for r in runs), max(r["load_after"] for r in runs)))
print()
print("| model | zen, KV cache (tok/s) | zen, prefix recomputed (tok/s) | transformers generate (tok/s) | cache speed-up | zen / transformers |")
print("| --- | --- | --- | --- | --- | --- |")
for shape in sorted({(r["layers"], r["hidden"]) for r in runs}):
    get = lambda impl, cache: next(r for r in runs if (r["layers"], r["hidden"]) == shape and r["impl"] == impl and r["cache"] == cache)
    cached, recomputed, hf = get("zen", True), get("zen", False), get("transformers", True)
    print("| %d layers, hidden %d | %.0f | %.0f | %.0f | %.2fx | %.2fx |" % (
        shape[0], shape[1], cached["tokens_per_s"], recomputed["tokens_per_s"], hf["tokens_per_s"],
        cached["tokens_per_s"] / recomputed["tokens_per_s"], cached["tokens_per_s"] / hf["tokens_per_s"]))
PY
