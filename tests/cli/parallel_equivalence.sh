#!/usr/bin/env bash
# The central test: tp=2, dp=2 and tp=2 × dp=2 under mpirun give the same per-step losses and gradient
# norms as one process on the same seed and data (relative 1e-5, fp32), for LoRA and for full
# fine-tuning; and run.json shows every rank holding only its share of the parameters.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=5
      train.seq_len=64 train.global_batch_size=8 train.micro_batch_size=2 train.threads=1
      parallel.timeout_s=120)

for mode in lora full; do
  extra=()
  [ "$mode" = full ] && extra=("~lora")
  "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" "${extra[@]}" output_dir="$work/$mode-1" > "$work/$mode-1.log" 2>&1
  "${mpi[@]}" -np 2 "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" "${extra[@]}" parallel.tensor=2 \
    output_dir="$work/$mode-tp2" > "$work/$mode-tp2.log" 2>&1 || { cat "$work/$mode-tp2.log"; exit 1; }
  "${mpi[@]}" -np 2 "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" "${extra[@]}" \
    output_dir="$work/$mode-dp2" > "$work/$mode-dp2.log" 2>&1 || { cat "$work/$mode-dp2.log"; exit 1; }
  "${mpi[@]}" -np 4 "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" "${extra[@]}" parallel.tensor=2 \
    output_dir="$work/$mode-tp2dp2" > "$work/$mode-tp2dp2.log" 2>&1 || { cat "$work/$mode-tp2dp2.log"; exit 1; }
  "${mpi[@]}" -np 2 "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" "${extra[@]}" parallel.zero=1 \
    output_dir="$work/$mode-dp2zero1" > "$work/$mode-dp2zero1.log" 2>&1 || { cat "$work/$mode-dp2zero1.log"; exit 1; }
done

"$python" - "$work" "$src" <<'PY'
import json, os, sys
work, src = sys.argv[1:3]
sys.path.insert(0, os.path.join(src, "tests/cli/lib"))
from runs import compare
failures = []
for mode in ["lora", "full"]:
    for layout, world, tp in [("tp2", 2, 2), ("dp2", 2, 1), ("tp2dp2", 4, 2), ("dp2zero1", 2, 1)]:
        base, other, worst = compare(work, mode + "-1", mode + "-" + layout, ("loss", "grad_norm"), 1e-5, failures, steps=5)
        print("%-5s %-7s losses %s, worst relative difference %.2e" % (mode, layout, [round(r["loss"], 6) for r in other], worst))
        run = json.load(open(os.path.join(work, mode + "-" + layout, "run.json")))
        single = json.load(open(os.path.join(work, mode + "-1", "run.json")))["ranks"][0]
        assert run["world_size"] == world and len(run["ranks"]) == world, run
        assert run["layout"]["tp"] == tp and run["layout"]["dp"] == world // tp, run["layout"]
        for r in run["ranks"]:
            if tp > 1:
                assert r["params"] < single["params"], ("a tp rank must hold less than the whole model", r, single)
                assert r["trainable_params"] < single["trainable_params"], (r, single)
            else:
                assert r["params"] == single["params"], (r, single)
        if layout == "dp2zero1":
            # ZeRO-1: each dp rank keeps Adam moments for about half the trainable parameters.
            states = [r["optimizer_state"] for r in run["ranks"]]
            print("      %-7s optimizer state per rank %s (one process: %d)" % (layout, states, single["optimizer_state"]))
            assert sum(states) == single["optimizer_state"], (states, single["optimizer_state"])
            assert max(states) < 0.75 * single["optimizer_state"], states
        if tp > 1:
            # The tp ranks of one dp replica together hold every parameter once, plus the replicated norms.
            held = sum(r["params"] for r in run["ranks"] if r["dp"] == 0)
            print("      %-7s params per rank %s (one process: %d; tp group total %d)" % (
                layout, [r["params"] for r in run["ranks"]], single["params"], held))
            assert single["params"] < held < single["params"] * 1.1, (held, single["params"])
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY
echo PASS
