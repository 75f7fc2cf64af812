#!/usr/bin/env bash
# Qwen3-Next's token mixers, forward + backward, one intra-op thread per process, as the sequence grows:
#   zen's Gated DeltaNet against transformers' Qwen3NextGatedDeltaNet on its pure-torch path (no fla or
#   causal-conv1d kernels), zen's gated attention against transformers' Qwen3NextAttention (SDPA, causal),
#   and the DeltaNet's cost against the attention's: linear against quadratic in T.
# Every point runs TOKENS tokens per iteration (TOKENS / T sequences of length T; one when T > TOKENS), so a
# mixer linear in T costs the same per token at every T while the attention's cost per token grows with T.
# Times are process CPU seconds (one intra-op thread: what the run costs, however busy the machine is; the
# wall seconds are in the results too).
# Shapes: Qwen3-Next-80B-A3B's hidden size and per-head shapes (DeltaNet key/value head dim 128, 2 value
# heads per key head; attention head_dim 256, RoPE on 64 dims) with an eighth of its heads (DeltaNet 2 key /
# 4 value heads, attention 2 query heads / 1 KV head): every matmul of the layer an eighth of the real one.
# usage: bash bench/qwen3_next/run.sh   (from the repo root, after building; LENGTHS, TOKENS, ROUNDS, SHAPE
#        override; writes OUT/results.jsonl and prints the table for docs/qwen3-next.md)
set -euo pipefail
source bench/common.sh
LENGTHS=${LENGTHS:-"256 512 1024 2048 4096 8192"}
TOKENS=${TOKENS:-4096}
ROUNDS=${ROUNDS:-1}
SHAPE=${SHAPE:-"--hidden 2048 --key-heads 2 --value-heads 4 --key-head-dim 128 --value-head-dim 128 --heads 2 --kv-heads 1 --head-dim 256 --iters 3 --threads 1"}
OUT=${OUT:-/tmp/zen-bench/qwen3_next}
mkdir -p "$OUT"
results=$OUT/results.jsonl
: >"$results"
emit "{\"machine\": $(machine_json), \"shape\": \"$SHAPE\", \"tokens_per_iteration\": $TOKENS, \"load_before\": $(load1)}"
bin=build/bench/zen_qwen3_next_mixer_bench
for ((round = 1; round <= ROUNDS; round++)); do
  for mixer in 0 1; do
    wait_for_quiet
    for t in $LENGTHS; do
      emit "$(OMP_NUM_THREADS=1 "$bin" --mixer $mixer --tokens "$t" --tokens-per-iteration "$TOKENS" $SHAPE)"
    done
    "$PY" bench/qwen3_next/hf_mixer.py --mixer $mixer --tokens "${LENGTHS// /,}" --tokens-per-iteration "$TOKENS" \
      $SHAPE 2>/dev/null | while read -r line; do emit "$line"; done
  done
done
emit "{\"load_after\": $(load1)}"
"$PY" - "$results" <<'PY'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
head, load_after = rows[0], rows[-1]["load_after"]
runs = [r for r in rows if "impl" in r]
machine = head["machine"]
best = {}  # (impl, mixer, T) -> the cheapest round
for r in runs:
    key = (r["impl"], r["mixer"], r["tokens"])
    if key not in best or r["median_cpu_s"] < best[key]["median_cpu_s"]:
        best[key] = r
def ms_per_k(impl, mixer, t):  # CPU milliseconds per 1,000 tokens, forward + backward
    r = best[(impl, mixer, t)]
    return 1e6 * r["median_cpu_s"] / (r["tokens"] * r["batch"])
lengths = sorted({t for _, _, t in best})
rounds = max(1, len(runs) // (4 * len(lengths)))
words = head["shape"].split()
iters = int(words[words.index("--iters") + 1]) if "--iters" in words else 3
print("machine: %s, %d cores, %.0f GiB, torch %s (MKL %s); one intra-op thread per process; 1-minute load %s before, "
      "%s after; %s; %d tokens an iteration; median of %d iterations after a warm-up, cheapest of %d round(s)" % (
          machine["cpu"], machine["cores"], machine["mem_gib"], machine["torch"], machine["mkl"], head["load_before"],
          load_after, head["shape"], head["tokens_per_iteration"], iters, rounds))
print()
print("| T | sequences | DeltaNet zen | DeltaNet transformers | zen speed-up | gated attention zen "
      "| gated attention transformers | zen speed-up | zen attention / zen DeltaNet |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for t in lengths:
    gz, gh = ms_per_k("zen", "gated_deltanet", t), ms_per_k("transformers", "gated_deltanet", t)
    az, ah = ms_per_k("zen", "gated_attention", t), ms_per_k("transformers", "gated_attention", t)
    print("| %d | %d | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.2f |" % (
        t, best[("zen", "gated_deltanet", t)]["batch"], gz, gh, gh / gz, az, ah, ah / az, az / gz))
print()
first, last = lengths[0], lengths[-1]
for impl in ("zen", "transformers"):
    for mixer in ("gated_deltanet", "gated_attention"):
        # cost per sequence ~ T^p, so cost per token ~ T^(p - 1)
        p = 1 + math.log(ms_per_k(impl, mixer, last) / ms_per_k(impl, mixer, first)) / math.log(last / first)
        print("- %s %s: cost per sequence grows as T^%.2f from T = %d to %d" % (impl, mixer, p, first, last))
PY
