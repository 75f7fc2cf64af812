#!/usr/bin/env bash
# The tiny Zen-Omni trains on the generated multimodal data (tests/cli/lib/make_omni_data.py, prepared by
# `zen data prepare --recipe`): one process's loss falls, and tp=2 and ep=2 under mpirun (one thread a rank)
# give one process's per-step losses within 1e-5 relative, since every layout reads the same rows and media.
set -euo pipefail
zen=$1 src=$2 python=$3
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$python" "$src/tests/cli/lib/make_omni_data.py" "$work/omni" > /dev/null
recipe=$src/configs/recipes/zen-omni-lora.yaml
source "$src/tests/cli/lib/omni_tiny.sh"
tiny=("${omni_tiny[@]}")
"$zen" data prepare --recipe "$recipe" "${tiny[@]}" --input omni/omni.jsonl --threads 2 > /dev/null
train=("${tiny[@]}" model.ffn=128 "~lora" optim.lr=3e-3 optim.warmup_steps=0 train.seq_len=96 train.global_batch_size=8
       train.micro_batch_size=2 train.threads=1 parallel.timeout_s=120)

run() {  # run NAME RANKS OVERRIDES...
  local name=$1 ranks=$2
  shift 2
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" train "$recipe" "${train[@]}" "$@" output_dir="$work/$name" > "$work/$name.log" 2>&1 ||
    { echo "run $name failed:"; tail -20 "$work/$name.log"; exit 1; }
}
run falls 1 train.max_steps=25
run one 1 train.max_steps=5
run tp2 2 train.max_steps=5 parallel.tensor=2
run ep2 2 train.max_steps=5 parallel.expert=2

"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def losses(run):
    return [json.loads(l)["loss"] for l in open(os.path.join(work, run, "metrics.jsonl"))]
falls = losses("falls")
first, last = sum(falls[:5]) / 5, sum(falls[-5:]) / 5
assert last < 0.8 * first, falls
print("one process, 25 steps: mean loss of the first 5 steps %.3f, of the last 5 %.3f" % (first, last))
base = losses("one")
for layout in ("tp2", "ep2"):
    other = losses(layout)
    assert len(other) == len(base) == 5, (layout, other)
    worst = max(abs(a - b) / abs(a) for a, b in zip(base, other))
    assert worst <= 1e-5, (layout, base, other)
    print("%s: losses %s, worst relative difference to one process %.2e" % (layout, [round(x, 6) for x in other], worst))
PY
echo "PASS"
