#!/usr/bin/env bash
# Qwen3-Next against transformers under every parallel layout: a tiny random Qwen3NextForCausalLM
# (tests/oracle/make_tiny_qwen3_next.py: Gated DeltaNet and gated attention layers, randomised norms, gates,
# A_log and dt_bias, per-expert Hub layout with mtp.* tensors) scored by `zen eval` from model.checkpoint in
# one process and under mpirun with tp=2, pp=2 and ep=2: each sequence's mean next-token loss equals
# transformers' (relative 1e-4), on sequences whose lengths are not multiples of the chunk of 64; the
# mtp.* tensors are skipped with one log line.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" tests/oracle/make_tiny_qwen3_next.py "$work/next" >/dev/null 2>&1
"$python" - "$work" <<'PY' 2>/dev/null
import json, os, sys, torch
from transformers import AutoModelForCausalLM
work = sys.argv[1]
torch.manual_seed(5)
seqs = [torch.randint(0, 128, (n,)).tolist() for n in (12, 5, 70, 2, 131)]
with open(os.path.join(work, "ids.jsonl"), "w") as f:
    for s in seqs:
        f.write(json.dumps({"ids": s}) + "\n")
model = AutoModelForCausalLM.from_pretrained(os.path.join(work, "next", "model"), dtype=torch.float32).eval()
with torch.no_grad():
    losses = [model(input_ids=torch.tensor([s]), labels=torch.tensor([s])).loss.item() for s in seqs]
json.dump(losses, open(os.path.join(work, "want.json"), "w"))
PY

score() {  # score NAME RANKS OVERRIDES...
  local name=$1 ranks=$2
  shift 2
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" eval configs/recipes/zen-next-lora.yaml "~lora" model.checkpoint="$work/next/model" \
    output_dir="$work/none" train.seq_len=160 train.global_batch_size=4 train.micro_batch_size=1 "$@" \
    --input "$work/ids.jsonl" >"$work/$name.out" 2>"$work/$name.log" || { echo "zen eval $name failed:"; cat "$work/$name.log"; exit 1; }
}
score one 1
score tp2 2 parallel.tensor=2
score pp2 2 parallel.pipeline=2
score ep2 2 parallel.expert=2
grep -q "skipping 2 mtp.\* tensors" "$work/one.log" || { echo "no log line about the mtp.* tensors:"; cat "$work/one.log"; exit 1; }

"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
want = json.load(open(os.path.join(work, "want.json")))
failures = []
for name in ["one", "tp2", "pp2", "ep2"]:
    lines = [json.loads(l) for l in open(os.path.join(work, name + ".out"))]
    got = lines[:-1]
    assert len(got) == len(want), (name, len(got))
    assert [g["tokens"] for g in got] == [11, 4, 69, 1, 130], got
    worst = max(abs(g["loss"] - w) / w for g, w in zip(got, want))
    print("%-4s per-sequence losses %s, worst relative error vs transformers %.2e" % (
        name, [round(g["loss"], 5) for g in got], worst))
    if worst > 1e-4:
        failures.append(name)
if failures:
    print("mismatch:", failures)
    sys.exit(1)
PY
echo PASS
