#!/usr/bin/env bash
# `zen plan`'s memory of one rank against what the trainer measures: short runs of tiny models on CPU
# layouts (one process, tp=2, pp=2, ep=2 on an MoE, dp=2; LoRA and full fine-tuning; fp32, bf16 autocast
# and bf16 parameters; recompute none, selective and full; sequence parallelism), each compared with `zen plan --as-is --layout ... --json` for the same recipe. The measure is
# metrics.jsonl's peak_memory_bytes of the last step (every CPU tensor, through trainer/memory_meter.h's
# counting allocator); the prediction is the layout's memory_bytes.total. Each must agree within ±20%.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Activation-dominated enough that a wrong activation or logits model shows: seq 128, 4 layers.
tiny=(data.source=demo model.layers=4 model.hidden=64 model.heads=4 model.kv_heads=2 model.head_dim=16
      model.ffn=128 model.vocab=512 optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=2 train.seq_len=128
      train.global_batch_size=4 train.micro_batch_size=2 train.threads=1 checkpoint.interval=0
      parallel.timeout_s=120)
moe=(model.experts=4 model.top_k=2 model.expert_ffn=64 model.shared_ffn=64)

# measure NAME MODEL RANKS TP PP EP OVERRIDES...: trains, then asks the planner about the same recipe.
measure() {
  local name=$1 recipe=configs/recipes/zen-$2-lora.yaml ranks=$3 tp=$4 pp=$5 ep=$6
  shift 6
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" train "$recipe" "${tiny[@]}" "$@" output_dir="$work/$name" >"$work/$name.log" 2>&1 ||
    { echo "run $name failed:"; tail -20 "$work/$name.log"; exit 1; }
  "$zen" plan "$recipe" "${tiny[@]}" "$@" --nodes 1 --gpus-per-node "$ranks" --gpu-memory 80GiB --as-is \
    --layout "tp=$tp,pp=$pp,ep=$ep" --json >"$work/$name.plan.json"
  echo "$name" >>"$work/names"
}

measure lora-one nano 1 1 1 1
measure full-one nano 1 1 1 1 '~lora'
measure bf16-one nano 1 1 1 1 train.dtype=bf16
measure lora-tp2 nano 2 2 1 1 parallel.tensor=2
measure lora-pp2 nano 2 1 2 1 parallel.pipeline=2
measure full-dp2 nano 2 1 1 1 '~lora'
measure moe-ep2 coder 2 1 1 2 "${moe[@]}" parallel.expert=2
measure full-recomp nano 1 1 1 1 train.recompute=full
measure sel-recomp nano 1 1 1 1 train.recompute=selective
measure bf16p-lora nano 1 1 1 1 train.param_dtype=bf16
measure bf16p-full nano 1 1 1 1 '~lora' train.param_dtype=bf16
measure tp2-sp nano 2 2 1 1 parallel.tensor=2 parallel.sequence=true
measure pp2-full-rc nano 2 1 2 1 parallel.pipeline=2 train.recompute=full

"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
failures = []
print("%-12s %12s %12s %7s   predicted terms (MB)" % ("layout", "measured", "predicted", "ratio"))
for name in open(os.path.join(work, "names")).read().split():
    last = [json.loads(l) for l in open(os.path.join(work, name, "metrics.jsonl"))][-1]
    plan = json.load(open(os.path.join(work, name + ".plan.json")))
    assert len(plan["layouts"]) == 1, (name, "--layout must leave one layout", plan["layouts"])
    layout = plan["layouts"][0]
    memory = layout["memory_bytes"]
    measured, predicted = last["peak_memory_bytes"], memory["total"]
    ratio = predicted / measured
    terms = ", ".join("%s %.2f" % (k, v / 1e6) for k, v in memory.items() if v and k != "total")
    o = layout["options"]  # --as-is: the recipe's own
    print("%-12s %12d %12d %7.3f   %s [%s params, recompute %s, SP %s]" % (
        name, measured, predicted, ratio, terms, o["param_dtype"], o["recompute"], o["sequence_parallel"]))
    if not 0.8 <= ratio <= 1.2:
        failures.append("%s: predicted %d bytes, measured %d (ratio %.3f, outside ±20%%)" % (name, predicted, measured, ratio))
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("PASS: every layout's prediction within ±20% of the measured peak")
PY
