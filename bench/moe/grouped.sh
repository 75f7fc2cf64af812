#!/usr/bin/env bash
# Grouped expert compute: forward + backward of one MoE block with LoRA on every expert projection (base
# frozen), one intra-op thread, best of 2 rounds, at two shapes scaled down from the target models:
#   zen-coder-like  Qwen3-Coder-480B's 160 experts, top-8, expert width / hidden 2,560 / 6,144 ~ 0.42
#   next-like       Qwen3-Next's 512 experts, top-10, expert width / hidden 512 / 2,048 = 0.25
# Implementations: zen's MoeBlock (grouped GEMMs, models/grouped_experts.h), zen's per-expert loop (the path
# before), and transformers' Qwen3MoeSparseMoeBlock with peft LoRA on its fused expert tensors, with its
# "eager" (loop over experts) and "grouped_mm" experts implementations.
# usage: bash bench/moe/grouped.sh   (from the repo root, after building; ROUNDS, ITERS, TOKENS override)
set -euo pipefail
source bench/common.sh
OUT=${OUT:-/tmp/zen-bench/moe-grouped}
ROUNDS=${ROUNDS:-2} ITERS=${ITERS:-3} TOKENS=${TOKENS:-2048}
mkdir -p "$OUT"
results=$OUT/results.jsonl
: >"$results"
emit "{\"machine\": $(machine_json)}"
bin=build/bench/zen_moe_layer_bench
declare -A shapes=(
  [zen-coder-like]="--hidden 256 --experts 160 --top-k 8 --expert-ffn 112"
  [next-like]="--hidden 256 --experts 512 --top-k 10 --expert-ffn 64"
)
for round in $(seq "$ROUNDS"); do
  for name in zen-coder-like next-like; do
    common="--tokens $TOKENS ${shapes[$name]} --iters $ITERS --threads 1 --lora-rank 16"
    wait_for_quiet
    for impl in zen zen-loop hf-eager hf-grouped; do
      case $impl in
        zen) line=$(OMP_NUM_THREADS=1 "$bin" $common) ;;
        zen-loop) line=$(OMP_NUM_THREADS=1 "$bin" $common --loop 1) ;;
        hf-eager) line=$("$PY" bench/moe/hf_block.py $common --experts-impl eager 2>/dev/null) ;;
        hf-grouped) line=$("$PY" bench/moe/hf_block.py $common --experts-impl grouped_mm 2>/dev/null) ;;
      esac
      emit "$("$PY" -c 'import json, sys; r = json.loads(sys.argv[1]); r["shape"] = sys.argv[2]; r["load1"] = float(open("/proc/loadavg").read().split()[0]); print(json.dumps(r))' "$line" "$name")"
    done
  done
done
"$PY" - "$results" "$TOKENS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
machine, runs = rows[0]["machine"], rows[1:]
print("machine: %s, %d cores, torch %s; %s tokens, LoRA rank 16 on every expert projection; best of rounds" % (
    machine["cpu"], machine["cores"], machine["torch"], sys.argv[2]))
print("| shape | implementation | ms per fwd+bwd | tokens/s | vs zen loop | vs transformers eager | vs transformers grouped_mm |")
print("| --- | --- | --- | --- | --- | --- | --- |")
names = {"zen": "zen MoeBlock, grouped GEMMs", "zen-loop": "zen MoeBlock, per-expert loop (before)",
         "transformers-eager": "transformers + peft, eager", "transformers-grouped_mm": "transformers + peft, grouped_mm"}
for shape in ["zen-coder-like", "next-like"]:
    best = {}
    for r in runs:
        if r["shape"] == shape and (r["impl"] not in best or r["median_s"] < best[r["impl"]]["median_s"]):
            best[r["impl"]] = r
    for impl in ["zen", "zen-loop", "transformers-eager", "transformers-grouped_mm"]:
        r = best[impl]
        ratio = lambda other: best[other]["median_s"] / r["median_s"]
        print("| %s | %s | %.1f | %.0f | %.2f | %.2f | %.2f |" % (shape, names[impl], 1e3 * r["median_s"], r["tokens_per_s_total"],
              ratio("zen-loop"), ratio("transformers-eager"), ratio("transformers-grouped_mm")))
PY
