#!/usr/bin/env bash
# `zen plan`: prints a plan for every shipped recipe (one node of 8 x 80 GiB; Zen-Coder also on 16 nodes)
# whose --json parses with sensible fields, and bad arguments exit 2 with one message naming the flag.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check_json() {  # $1: the JSON file, $2: the world size
  "$python" - "$1" "$2" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
world = int(sys.argv[2])
assert plan["cluster"]["world"] == world, plan["cluster"]
assert plan["cluster"]["usable_bytes"] < plan["cluster"]["gpu_memory_bytes"]
p = plan["params"]
assert 0 < p["trainable"] < p["total"] and 0 < p["active"] <= p["total"], p
t = plan["training"]
assert t["total_steps"] > 0 and t["tokens"] == t["total_steps"] * t["tokens_per_step"], t
assert t["flops_per_token"] > 4 * p["active"] * 0.9, t  # at least the LoRA 4N (N ~ active)
assert abs(t["seconds"] - t["tokens"] * t["flops_per_token"] / (world * t["peak_flops"] * t["mfu"])) <= 1e-6 * t["seconds"]
assert plan["layouts"] or plan["rejected"], "no layout considered"
for l in plan["layouts"]:
    assert l["tp"] in (1, 2, 4, 8) and l["tp"] * l["cp"] * l["pp"] * l["dp"] == world and (l["tp"] * l["cp"] * l["dp"]) % l["ep"] == 0, l
    m = l["memory_bytes"]
    parts = sum(v for k, v in m.items() if k != "total")
    assert abs(parts - m["total"]) <= 1e-6 * m["total"] and m["weights"] > 0 and m["activations"] > 0, m
    assert l["fits"] == (m["total"] <= plan["cluster"]["usable_bytes"]), l
    assert 1 <= l["in_flight"] and 1 <= l["stage_layers"], l
fitting = [l for l in plan["layouts"] if l["fits"] and l["batch_ok"]]
if fitting:
    best = plan["best"]
    assert best == {k: fitting[0][k] for k in ("tp", "cp", "pp", "ep", "dp")}, (best, fitting[0])
    mp = lambda l: l["tp"] * l["cp"] * l["pp"] * l["ep"]
    assert all(mp(fitting[0]) <= mp(l) for l in fitting), "best is not the fewest model-parallel ranks"
else:
    assert plan["best"] is None
best = plan["best"]
print("%s: best %s, %.1f days" % (plan["model"], best, t["days"]))
PY
}

for model in nano eco coder omni next; do
  recipe=configs/recipes/zen-$model-lora.yaml
  "$zen" plan "$recipe" --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB > "$work/$model.txt"
  grep -q "^best: " "$work/$model.txt" || { cat "$work/$model.txt"; echo "no best line for $model"; exit 1; }
  grep -q "^time: " "$work/$model.txt" || { cat "$work/$model.txt"; echo "no time line for $model"; exit 1; }
  "$zen" plan "$recipe" --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB --mfu 0.4 --json > "$work/$model.json"
  check_json "$work/$model.json" 8
done
# Zen-Nano fits one GPU per replica; the 0.6B model runs as 8 data-parallel ranks.
"$python" -c '
import json, sys
plan = json.load(open(sys.argv[1]))
assert plan["best"] is not None and plan["best"]["tp"] * plan["best"]["pp"] <= 2, plan["best"]
' "$work/nano.json"
# Zen-Coder on 16 nodes, with the guide's batch as is and with a global batch every layout can split.
"$zen" plan configs/recipes/zen-coder-lora.yaml --nodes 16 --gpus-per-node 8 --gpu-memory 80GiB > "$work/coder16.txt"
"$zen" plan configs/recipes/zen-coder-lora.yaml train.global_batch_size=1024 --nodes 16 --gpus-per-node 8 \
  --gpu-memory 80GB --peak-tflops 989 --json > "$work/coder16.json"
check_json "$work/coder16.json" 128
# Overrides reach the plan: ZeRO-1 shrinks the optimizer state of the same layout.
"$zen" plan configs/recipes/zen-eco-lora.yaml '~lora' --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB --json > "$work/eco-full.json"
"$zen" plan configs/recipes/zen-eco-lora.yaml '~lora' parallel.zero=1 --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB --json > "$work/eco-zero.json"
"$python" - "$work/eco-full.json" "$work/eco-zero.json" <<'PY'
import json, sys
full, zero = (json.load(open(f)) for f in sys.argv[1:])
key = lambda l: (l["tp"], l["cp"], l["pp"], l["ep"], l["dp"])
z = {key(l): l for l in zero["layouts"]}
for l in full["layouts"]:
    m, mz = l["memory_bytes"], z[key(l)]["memory_bytes"]
    assert abs(mz["optimizer"] * l["dp"] - m["optimizer"]) <= 1e-6 * m["optimizer"] * l["dp"], (key(l), m, mz)
assert full["params"]["trainable"] == full["params"]["total"]
print("ZeRO-1 divides the optimizer state by dp on every layout")
PY

expect_exit2() {  # $1: a word the message must name; the rest: zen plan's arguments
  local want=$1
  shift
  set +e
  err=$("$zen" plan "$@" 2>&1 >/dev/null)
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || { echo "zen plan $*: expected exit 2, got $rc ($err)"; exit 1; }
  [ "$(echo "$err" | wc -l)" -eq 1 ] || { echo "zen plan $*: expected one line, got: $err"; exit 1; }
  echo "$err" | grep -q -- "$want" || { echo "zen plan $*: message does not name $want: $err"; exit 1; }
  echo "exit 2: $err"
}
nano=configs/recipes/zen-nano-lora.yaml
expect_exit2 --nodes "$nano" --gpus-per-node 8 --gpu-memory 80GiB
expect_exit2 --nodes "$nano" --nodes 0 --gpus-per-node 8 --gpu-memory 80GiB
expect_exit2 --gpus-per-node "$nano" --nodes 1 --gpus-per-node -8 --gpu-memory 80GiB
expect_exit2 --gpus-per-node "$nano" --nodes 1 --gpus-per-node eight --gpu-memory 80GiB
expect_exit2 --gpu-memory "$nano" --nodes 1 --gpus-per-node 8
expect_exit2 --gpu-memory "$nano" --nodes 1 --gpus-per-node 8 --gpu-memory 80
expect_exit2 --gpu-memory "$nano" --nodes 1 --gpus-per-node 8 --gpu-memory 80Gb/s
expect_exit2 --gpu-memory "$nano" --nodes 1 --gpus-per-node 8 --gpu-memory 0GiB
expect_exit2 --mfu "$nano" --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB --mfu 0
expect_exit2 --mfu "$nano" --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB --mfu 1.5
expect_exit2 --peak-tflops "$nano" --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB --peak-tflops -989
expect_exit2 --nodes "$nano" --gpus-per-node 8 --gpu-memory 80GiB --nodes
expect_exit2 train.max_stepz "$nano" train.max_stepz=3 --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB
echo PASS
