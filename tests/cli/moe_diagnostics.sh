#!/usr/bin/env bash
# Per-layer MoE diagnostics in metrics.jsonl and TensorBoard, on a tiny Zen-Coder with a capacity limit:
#   1. load_imbalance, layer_dropped_tokens and router_entropy hold one value per MoE layer (by layer
#      index); with one MoE layer the imbalance is E × the largest expert_load share and its dropped
#      choices are dropped_tokens; the entropy lies in (0, log E];
#   2. TensorBoard's moe/<name>/layer_<l> scalars hold the same numbers (read with tensorboard's reader);
#   3. pp=2 (each stage holding one MoE layer) reports every layer with one process's values.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo "${nano_tiny[@]}" model.experts=4 model.top_k=2 model.expert_ffn=32 optim.lr=2e-3
      optim.warmup_steps=0 train.max_steps=3 train.seq_len=64 train.global_batch_size=4 train.micro_batch_size=2
      train.threads=1 parallel.timeout_s=120 moe.capacity_factor=1.0)
recipe=configs/recipes/zen-coder-lora.yaml
"$zen" train $recipe "${tiny[@]}" model.layers=2 model.moe_every=2 output_dir="$work/one-moe" >"$work/one-moe.log" 2>&1 ||
  { tail -20 "$work/one-moe.log"; exit 1; }
"$zen" train $recipe "${tiny[@]}" model.layers=4 model.moe_every=2 output_dir="$work/two" >"$work/two.log" 2>&1 ||
  { tail -20 "$work/two.log"; exit 1; }
"${mpi[@]}" -np 2 "$zen" train $recipe "${tiny[@]}" model.layers=4 model.moe_every=2 parallel.pipeline=2 \
  output_dir="$work/two-pp2" >"$work/two-pp2.log" 2>&1 || { tail -20 "$work/two-pp2.log"; exit 1; }

"$python" - "$work" <<'PY'
import glob, json, math, os, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
work = sys.argv[1]
def rows(run):
    return [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))]
E = 4
for r in rows("one-moe"):
    assert list(r["load_imbalance"]) == ["1"], r["load_imbalance"]  # layer 1 is the only MoE layer
    want = E * max(r["expert_load"])
    assert abs(r["load_imbalance"]["1"] - want) < 1e-9, (r["load_imbalance"], want)
    assert r["layer_dropped_tokens"]["1"] == r["dropped_tokens"] > 0, r
    assert 0 < r["router_entropy"]["1"] <= math.log(E) + 1e-9, r["router_entropy"]
print("one MoE layer: load_imbalance %s, dropped %s, router_entropy %s" % (
    [round(r["load_imbalance"]["1"], 4) for r in rows("one-moe")], [r["layer_dropped_tokens"]["1"] for r in rows("one-moe")],
    [round(r["router_entropy"]["1"], 4) for r in rows("one-moe")]))

two, pp2 = rows("two"), rows("two-pp2")
for a, b in zip(two, pp2):
    assert sorted(a["load_imbalance"]) == sorted(b["load_imbalance"]) == ["1", "3"], (a, b)
    assert sum(a["layer_dropped_tokens"].values()) == a["dropped_tokens"], a
    for key in ("load_imbalance", "router_entropy", "layer_dropped_tokens"):
        for layer in ("1", "3"):
            x, y = a[key][layer], b[key][layer]
            assert abs(x - y) <= 1e-5 * max(abs(x), 1e-12), (key, layer, x, y)
print("two MoE layers, pp=2 as one process: load_imbalance %s" % two[-1]["load_imbalance"])

acc = EventAccumulator(glob.glob(os.path.join(work, "two"))[0], size_guidance={"scalars": 0})
acc.Reload()
for name, key in (("load_imbalance", "load_imbalance"), ("dropped_tokens", "layer_dropped_tokens"),
                  ("router_entropy", "router_entropy")):
    for layer in ("1", "3"):
        events = acc.Scalars("moe/%s/layer_%s" % (name, layer))
        assert [e.step for e in events] == [r["step"] for r in two], events
        for e, r in zip(events, two):
            assert abs(e.value - r[key][layer]) <= 1e-5 * max(abs(r[key][layer]), 1.0), (name, layer, e.value, r[key][layer])
print("TensorBoard moe/* scalars match metrics.jsonl")
PY
echo PASS
