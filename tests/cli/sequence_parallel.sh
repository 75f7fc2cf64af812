#!/usr/bin/env bash
# Sequence parallelism and experts folded over tensor parallelism, under mpirun (docs/memory.md, docs/moe.md):
#   1. dense Zen-Nano, LoRA and full fine-tuning: tp=2 with parallel.sequence=true gives tp=2's per-step
#      losses and gradient norms (relative 1e-5) with a lower measured peak_memory_bytes per rank; so does
#      tp=2 × pp=2 with sequence parallelism (the stages send sequence shards);
#   2. MoE Zen-Coder (4 experts, top-2, a shared expert; LoRA on router, experts, q, v, o and the shared
#      expert): tp=2, tp=2 + sequence, ep=2 over tp=2 (2 ranks), ep=2 over tp=2 + sequence, and ep=4 over
#      tp=2 × dp=2 give one process's losses, gradient norms and aux_loss (relative 1e-5); sequence
#      parallelism lowers tp=2's peak; each rank holds only its experts (run.json parameter counts);
#   3. the ep=2-over-tp=2 checkpoint of step 2 continues in one process within 1e-5 of the uninterrupted run;
#   4. bad combinations exit 2 naming the key.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# seq 512 so that activations, which sequence parallelism splits, weigh in the peak.
tiny=(data.source=demo model.layers=4 model.hidden=64 model.heads=4 model.kv_heads=2 model.head_dim=16
      model.ffn=128 model.vocab=512 optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=4 train.seq_len=512
      train.global_batch_size=4 train.micro_batch_size=2 train.threads=1 parallel.timeout_s=120)
moe=(model.layers=2 model.experts=4 model.top_k=2 model.expert_ffn=32 model.shared_ffn=64
     "lora.targets=[router,experts.*.wi,experts.*.wo,q,v,o,shared]" checkpoint.interval=2)

run() {  # run NAME RECIPE RANKS OVERRIDES...
  local name=$1 recipe=configs/recipes/$2-lora.yaml ranks=$3
  shift 3
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" train "$recipe" "${tiny[@]}" "$@" output_dir="$work/$name" >"$work/$name.log" 2>&1 ||
    { echo "run $name failed:"; tail -20 "$work/$name.log"; exit 1; }
}

for mode in lora full; do
  extra=()
  [ "$mode" = full ] && extra=("~lora")
  run "$mode-tp2" zen-nano 2 "${extra[@]}" parallel.tensor=2
  run "$mode-tp2sp" zen-nano 2 "${extra[@]}" parallel.tensor=2 parallel.sequence=true
done
run lora-tp2pp2sp zen-nano 4 parallel.tensor=2 parallel.pipeline=2 parallel.sequence=true
run moe-one zen-coder 1 "${moe[@]}"
run moe-tp2 zen-coder 2 "${moe[@]}" parallel.tensor=2
run moe-tp2sp zen-coder 2 "${moe[@]}" parallel.tensor=2 parallel.sequence=true
run moe-tp2ep2 zen-coder 2 "${moe[@]}" parallel.tensor=2 parallel.expert=2
run moe-tp2ep2sp zen-coder 2 "${moe[@]}" parallel.tensor=2 parallel.expert=2 parallel.sequence=true
run moe-tp2ep4 zen-coder 4 "${moe[@]}" parallel.tensor=2 parallel.expert=4
# 3. the step-2 checkpoint of ep=2 over tp=2, continued by one process
mkdir -p "$work/moe-reshard/checkpoints"
cp -r "$work/moe-tp2ep2/checkpoints/step-00000002" "$work/moe-reshard/checkpoints/"
echo step-00000002 >"$work/moe-reshard/checkpoints/latest"
run moe-reshard zen-coder 1 "${moe[@]}"

"$python" - "$work" "$src" <<'PY'
import json, os, sys
work, src = sys.argv[1:3]
sys.path.insert(0, os.path.join(src, "tests/cli/lib"))
import runs
def rows(run):
    return runs.rows(work, run)
def ranks(run):
    return json.load(open(os.path.join(work, run, "run.json")))["ranks"]
failures = []
def compare(base_name, name, keys=("loss", "grad_norm")):
    base, other, worst = runs.compare(work, base_name, name, keys, 1e-5, failures, steps=4)
    print("%-14s vs %-8s losses %s, worst relative difference %.2e" % (name, base_name, [round(r["loss"], 6) for r in other], worst))
def peak(run):
    return max(r["peak_memory_bytes"] for r in rows(run))
def lower_peak(base_name, name):
    a, b = peak(base_name), peak(name)
    print("%-14s peak_memory_bytes per rank %d vs %s %d (%.3f x)" % (name, b, base_name, a, b / a))
    if not b < a:
        failures.append("%s: peak %d not below %s's %d" % (name, b, base_name, a))

for mode in ["lora", "full"]:
    compare(mode + "-tp2", mode + "-tp2sp")
    lower_peak(mode + "-tp2", mode + "-tp2sp")
compare("lora-tp2", "lora-tp2pp2sp")
for name in ["moe-tp2", "moe-tp2sp", "moe-tp2ep2", "moe-tp2ep2sp", "moe-tp2ep4"]:
    compare("moe-one", name, keys=("loss", "grad_norm", "aux_loss"))
lower_peak("moe-tp2", "moe-tp2sp")
# Every rank holds only its experts: 4, 2 and 1 experts per layer on the tp=2, ep=2 and ep=4 ranks, so the
# parameter counts fall by one expert's share per expert given away.
held = {name: sorted(set(r["params"] for r in ranks(name))) for name in ["moe-tp2", "moe-tp2ep2", "moe-tp2ep4"]}
print("params per rank: tp=2 %s, ep=2 over tp=2 %s, ep=4 over tp=2 x dp=2 %s" % (held["moe-tp2"], held["moe-tp2ep2"], held["moe-tp2ep4"]))
assert all(len(v) == 1 for v in held.values()), held
tp2, ep2, ep4 = held["moe-tp2"][0], held["moe-tp2ep2"][0], held["moe-tp2ep4"][0]
one_expert_per_layer = ep2 - ep4
assert one_expert_per_layer >= 2 * 3 * 64 * 32, one_expert_per_layer  # layers * (gate, up, down) * hidden * expert_ffn
assert tp2 - ep2 == 2 * one_expert_per_layer, (tp2, ep2, ep4)
# 3. resharded from ep=2 over tp=2 to one process at step 2
whole, resumed = rows("moe-tp2ep2"), rows("moe-reshard")
assert [r["step"] for r in resumed] == [3, 4], [r["step"] for r in resumed]
worst = max(abs(a["loss"] - b["loss"]) / a["loss"] for a, b in zip(whole[2:], resumed))
print("reshard ep=2 over tp=2 -> one process: worst relative loss difference over steps 3-4: %.2e" % worst)
if worst > 1e-5:
    failures.append("reshard: %.3g" % worst)
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY

expect_bad() {  # expect_bad WHAT RANKS RECIPE OVERRIDES...
  local what=$1 ranks=$2 recipe=configs/recipes/$3-lora.yaml rc=0
  shift 3
  "${mpi[@]}" -np "$ranks" "$zen" train "$recipe" "${tiny[@]}" "$@" output_dir="$work/bad" >"$work/bad.log" 2>&1 || rc=$?
  [ "$rc" = 2 ] || { echo "expected exit 2 for $*, got $rc"; cat "$work/bad.log"; exit 1; }
  grep -q "$what" "$work/bad.log" || { echo "no message naming $what for $*"; cat "$work/bad.log"; exit 1; }
}
expect_bad "parallel.sequence=true needs parallel.tensor > 1" 1 zen-nano parallel.sequence=true
expect_bad "train.seq_len (511) is not divisible by parallel.tensor (2)" 2 zen-nano parallel.tensor=2 \
  parallel.sequence=true train.seq_len=511
expect_bad "parallel.expert=3: the ranks of a pipeline stage" 2 zen-coder "${moe[@]}" parallel.tensor=2 parallel.expert=3 \
  model.experts=6
echo PASS
