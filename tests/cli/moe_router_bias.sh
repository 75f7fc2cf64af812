#!/usr/bin/env bash
# DeepSeek-V3's auxiliary-loss-free balancing (moe.router_bias_update_rate) on a tiny Zen-Coder, LoRA on the
# router and the experts, 4 steps:
#   1. the bias acts: losses and expert loads differ from a run without it (rate 0, the default);
#   2. ep=2 and pp=2 give one process's losses, gradient norms and aux_loss (the bias moves the same on
#      every rank);
#   3. resume: the step-2 checkpoint (which holds the biases) continues bit-identically to the
#      uninterrupted run; without the saved biases the routing of steps 3-4 would differ;
#   4. a negative rate exits 2 naming the key.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" model.experts=4 model.top_k=2 model.expert_ffn=32
      optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=4 train.seq_len=64 train.global_batch_size=8
      train.micro_batch_size=4 train.threads=1 parallel.timeout_s=120 checkpoint.interval=2)
recipe=configs/recipes/zen-coder-lora.yaml

run() {  # run NAME RANKS OVERRIDES...
  local name=$1 ranks=$2
  shift 2
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" train $recipe "${tiny[@]}" "$@" output_dir="$work/$name" >>"$work/$name.log" 2>&1 ||
    { echo "run $name failed:"; tail -20 "$work/$name.log"; exit 1; }
}
rate=moe.router_bias_update_rate=0.05
run off 1
run one 1 $rate
run ep2 2 $rate parallel.expert=2
run pp2 2 $rate parallel.pipeline=2
# Resume: the step-2 checkpoint alone, as if the run had stopped there.
mkdir -p "$work/resumed/checkpoints"
cp -r "$work/one/checkpoints/step-00000002" "$work/resumed/checkpoints/"
echo step-00000002 >"$work/resumed/checkpoints/latest"
run resumed 1 $rate

"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def rows(run):
    return [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))]
def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)
one, off = rows("one"), rows("off")
assert len(one) == len(off) == 4
# Step 1 routes with zero biases: the same as without; from step 2 on the biases have moved.
assert rel(one[0]["loss"], off[0]["loss"]) < 1e-6, (one[0], off[0])
moved = [max(abs(a - b) for a, b in zip(x["expert_load"], y["expert_load"])) for x, y in zip(one[1:], off[1:])]
print("expert_load difference from the run without the bias, steps 2-4: %s" % ["%.3g" % m for m in moved])
assert max(moved) > 1e-3, moved
failures = []
for layout in ("ep2", "pp2"):
    other = rows(layout)
    for a, b in zip(one, other):
        for key in ("loss", "grad_norm", "aux_loss"):
            if rel(a[key], b[key]) > 1e-5:
                failures.append("%s step %d %s: %.9g vs one process %.9g" % (layout, a["step"], key, b[key], a[key]))
    print("%s: worst relative loss difference %.2e" % (layout, max(rel(a["loss"], b["loss"]) for a, b in zip(one, other))))
resumed = rows("resumed")
assert [r["step"] for r in resumed] == [3, 4], resumed
for a, b in zip(one[2:], resumed):
    for key in ("loss", "grad_norm", "expert_load"):
        if a[key] != b[key]:
            failures.append("resumed step %d %s: %s vs uninterrupted %s" % (a["step"], key, b[key], a[key]))
print("resumed from step 2: losses %s, uninterrupted %s" % ([r["loss"] for r in resumed], [r["loss"] for r in one[2:]]))
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY

rc=0
"$zen" train $recipe "${tiny[@]}" moe.router_bias_update_rate=-1 output_dir="$work/bad" >"$work/bad.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "moe.router_bias_update_rate" "$work/bad.log" ||
  { echo "expected exit 2 naming moe.router_bias_update_rate, got $rc"; cat "$work/bad.log"; exit 1; }
echo PASS
