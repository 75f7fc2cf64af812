#!/usr/bin/env bash
# Mixture of experts under mpirun, on a tiny Zen-Coder (4 experts, top-2, a shared expert; LoRA on the
# router and the experts as the recipe says, and full fine-tuning):
#   1. ep=2, ep=2 × tp=2, ep=2 × pp=2 and ep=2 × dp=4 give one process's per-step losses, gradient norms
#      and aux_loss (relative 1e-5, 5 steps); metrics.jsonl has aux_loss and expert_load (E fractions
#      summing to 1); each expert rank holds only its experts (run.json counts).
#   2. A capacity factor drops token choices, counts them in dropped_tokens, and ep=2 drops the same.
#   3. Zen-Next (router + attention LoRA, router temperature) and Zen-Omni's text backbone train at tiny scale.
#   4. Bad MoE layouts exit 2 naming the key.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" model.experts=4 model.top_k=2 model.expert_ffn=32
      optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=5 train.seq_len=64 train.global_batch_size=8
      train.micro_batch_size=2 train.threads=1 parallel.timeout_s=120)

run() {  # run NAME RECIPE RANKS OVERRIDES...
  local name=$1 recipe=configs/recipes/$2-lora.yaml ranks=$3
  shift 3
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" train "$recipe" "${tiny[@]}" "$@" output_dir="$work/$name" >"$work/$name.log" 2>&1 ||
    { echo "run $name failed:"; tail -20 "$work/$name.log"; exit 1; }
}

for mode in lora full; do
  extra=(model.shared_ffn=64)
  [ "$mode" = full ] && extra+=("~lora")
  run "$mode-one" zen-coder 1 "${extra[@]}"
  run "$mode-ep2" zen-coder 2 "${extra[@]}" parallel.expert=2
  run "$mode-ep2tp2" zen-coder 4 "${extra[@]}" parallel.expert=2 parallel.tensor=2
  run "$mode-ep2pp2" zen-coder 4 "${extra[@]}" parallel.expert=2 parallel.pipeline=2
  run "$mode-ep2dp4" zen-coder 4 "${extra[@]}" parallel.expert=2
done
run capacity-one zen-coder 1 moe.capacity_factor=1.0
run capacity-ep2 zen-coder 2 moe.capacity_factor=1.0 parallel.expert=2
run next zen-next 1 model.router_temperature=0.7 model.experts=8 model.expert_ffn=16
run omni zen-omni 1 "lora.targets=[experts.*.mlp]" model.vision.layers=0 model.audio.layers=0  # the text backbone

"$python" - "$work" "$src" <<'PY'
import json, os, sys
work, src = sys.argv[1:3]
sys.path.insert(0, os.path.join(src, "tests/cli/lib"))
import runs
def rows(run):
    return runs.rows(work, run)
def runinfo(run):
    return json.load(open(os.path.join(work, run, "run.json")))
failures = []
def compare(base_name, other_name, keys=("loss", "grad_norm", "aux_loss")):
    base, other, worst = runs.compare(work, base_name, other_name, keys, 1e-5, failures, steps=5)
    print("%-14s losses %s, worst relative difference %.2e, aux_loss %s" % (
        other_name, [round(r["loss"], 6) for r in other], worst, [round(r["aux_loss"], 5) for r in other]))
    return base, other

for mode in ["lora", "full"]:
    base = rows(mode + "-one")
    for r in base:
        assert len(r["expert_load"]) == 4 and abs(sum(r["expert_load"]) - 1) < 1e-9, r["expert_load"]
        assert 0.02 <= r["aux_loss"] < 0.04, r["aux_loss"]  # 2 MoE layers, coef 0.01: 0.02 when balanced
    single = runinfo(mode + "-one")["ranks"][0]
    for layout in ["ep2", "ep2tp2", "ep2pp2", "ep2dp4"]:
        compare(mode + "-one", mode + "-" + layout)
        info = runinfo(mode + "-" + layout)
        assert info["layout"]["ep"] == 2, info["layout"]
        for r in info["ranks"]:
            assert r["params"] < single["params"], ("an expert rank holds half the experts", r, single)
    ep2 = runinfo(mode + "-ep2")["ranks"]
    # Two ranks of the expert group hold the shared parameters twice and the experts once between them.
    experts_total = 2 * 4 * 3 * 64 * 32  # layers * experts * (gate, up, down) * hidden * expert_ffn
    held = sum(r["params"] for r in ep2)
    print("      ep2 params per rank %s (one process %d)" % ([r["params"] for r in ep2], single["params"]))
    if mode == "full":
        assert held == 2 * single["params"] - experts_total, (held, single["params"])

cap_one, cap_ep2 = compare("capacity-one", "capacity-ep2", keys=("loss", "grad_norm", "aux_loss", "dropped_tokens"))
assert all(r["dropped_tokens"] > 0 for r in cap_one), [r["dropped_tokens"] for r in cap_one]
print("capacity factor 1.0: dropped token choices per step %s" % [r["dropped_tokens"] for r in cap_one])
for name in ["next", "omni"]:
    r = rows(name)
    assert r[-1]["loss"] < r[0]["loss"], (name, [x["loss"] for x in r])
    print("%-14s losses %s, expert_load %s" % (name, [round(x["loss"], 4) for x in r], [round(x, 3) for x in r[-1]["expert_load"]]))
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY

expect_bad() {  # expect_bad WHAT RANKS OVERRIDES...
  local what=$1 ranks=$2 rc=0
  shift 2
  "${mpi[@]}" -np "$ranks" "$zen" train configs/recipes/zen-coder-lora.yaml "${tiny[@]}" "$@" output_dir="$work/bad" \
    >"$work/bad.log" 2>&1 || rc=$?
  [ "$rc" = 2 ] || { echo "expected exit 2 for $*, got $rc"; cat "$work/bad.log"; exit 1; }
  grep -q "$what" "$work/bad.log" || { echo "no message naming $what for $*"; cat "$work/bad.log"; exit 1; }
}
expect_bad "model.experts (3) is not divisible by 2" 2 parallel.expert=2 model.experts=3
expect_bad "parallel.zero=1 with parallel.expert" 2 parallel.expert=2 parallel.zero=1
expect_bad "model.top_k" 1 model.top_k=5
echo PASS
