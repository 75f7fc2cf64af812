#!/usr/bin/env bash
# Global-batch load balancing (moe.balance=global_batch) under mpirun, on a tiny Zen-Coder with LoRA on the
# router and the experts, 3 steps of a global batch of 8:
#   1. dp=2 and ep=2 (one micro-batch of 4 per rank) give the per-step losses, gradient norms and aux_loss
#      of one process with one micro-batch of 8: the window is the whole global batch in both;
#   2. pp=2 and full recomputation (two micro-batches of 4, the window growing over them) give one process's;
#   3. micro-batch balancing under dp=2 gives another aux_loss (the comparison can fail);
#   4. an unknown moe.balance exits 2 naming the key.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" model.experts=4 model.top_k=2 model.expert_ffn=32
      optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=3 train.seq_len=64 train.global_batch_size=8
      train.threads=1 parallel.timeout_s=120 moe.aux_loss_coef=0.1 moe.balance=global_batch)

run() {  # run NAME RANKS OVERRIDES...
  local name=$1 ranks=$2
  shift 2
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" train configs/recipes/zen-coder-lora.yaml "${tiny[@]}" "$@" output_dir="$work/$name" \
    >"$work/$name.log" 2>&1 || { echo "run $name failed:"; tail -20 "$work/$name.log"; exit 1; }
}

run one-mb8 1 train.micro_batch_size=8
run dp2 2 train.micro_batch_size=4
run ep2 2 train.micro_batch_size=4 parallel.expert=2
run micro-dp2 2 train.micro_batch_size=4 moe.balance=micro_batch
run one-mb4 1 train.micro_batch_size=4
run pp2 2 train.micro_batch_size=4 parallel.pipeline=2
run recompute 1 train.micro_batch_size=4 train.recompute=full

"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def rows(run):
    return [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))]
def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)
failures = []
def compare(base_name, other_name):
    base, other = rows(base_name), rows(other_name)
    assert len(base) == len(other) == 3, (base_name, other_name)
    worst = 0.0
    for a, b in zip(base, other):
        for key in ("loss", "grad_norm", "aux_loss"):
            worst = max(worst, rel(a[key], b[key]))
            if rel(a[key], b[key]) > 1e-5:
                failures.append("%s step %d %s: %s %.9g, %s %.9g" % (other_name, a["step"], key, base_name, a[key], other_name, b[key]))
    print("%-10s vs %-8s worst relative difference %.2e, aux_loss %s" % (other_name, base_name, worst, [round(r["aux_loss"], 6) for r in other]))

compare("one-mb8", "dp2")
compare("one-mb8", "ep2")
compare("one-mb4", "pp2")
compare("one-mb4", "recompute")
micro, glob = rows("micro-dp2")[0]["aux_loss"], rows("one-mb8")[0]["aux_loss"]
print("step 1 aux_loss: global batch %.9g, micro-batch balancing under dp=2 %.9g" % (glob, micro))
if rel(micro, glob) < 1e-6:
    failures.append("micro-batch balancing gave the global-batch aux_loss %.9g" % micro)
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY

rc=0
"$zen" train configs/recipes/zen-coder-lora.yaml "${tiny[@]}" moe.balance=global output_dir="$work/bad" >"$work/bad.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "moe.balance" "$work/bad.log" || { echo "expected exit 2 naming moe.balance, got $rc"; cat "$work/bad.log"; exit 1; }
echo PASS
