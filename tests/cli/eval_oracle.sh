#!/usr/bin/env bash
# `zen eval` against transformers: tiny random Qwen3 (dense) and Qwen3-MoE models built by transformers,
# scored by zen from model.checkpoint in one process and under mpirun with tp=2 (dense) and ep=2 (MoE):
# each sequence's mean next-token loss equals transformers' (relative 1e-4), and so does the summary.
# Then training with data.eval_fraction and eval.interval writes eval_loss to metrics.jsonl, and bad
# input exits 2 naming the line; eval.keep_best keeps the checkpoint of the lowest eval_loss.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" tests/oracle/make_tiny_qwen3.py "$work/dense" --kv-heads 2 --tie 0 >/dev/null
"$python" tests/oracle/make_tiny_qwen3_moe.py "$work/moe" >/dev/null
# Sequences of different lengths, and the reference losses from transformers.
"$python" - "$work" <<'PY'
import json, os, sys, torch
from transformers import AutoModelForCausalLM
work = sys.argv[1]
torch.manual_seed(5)
seqs = [torch.randint(0, 128, (n,)).tolist() for n in (12, 5, 30, 2, 17)]
with open(os.path.join(work, "ids.jsonl"), "w") as f:
    for s in seqs:
        f.write(json.dumps({"ids": s}) + "\n")
for name in ["dense", "moe"]:
    model = AutoModelForCausalLM.from_pretrained(os.path.join(work, name, "model"), dtype=torch.float32).eval()
    with torch.no_grad():
        losses = [model(input_ids=torch.tensor([s]), labels=torch.tensor([s])).loss.item() for s in seqs]
    json.dump(losses, open(os.path.join(work, name + ".want.json"), "w"))
PY

score() {  # score NAME RANKS OVERRIDES...
  local name=$1 model=$2 ranks=$3
  shift 3
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" eval configs/recipes/zen-nano-lora.yaml "~lora" model.checkpoint="$work/$model/model" \
    output_dir="$work/none" train.seq_len=64 train.global_batch_size=4 train.micro_batch_size=1 "$@" --input "$work/ids.jsonl" \
    >"$work/$name.out" 2>"$work/$name.log" || { echo "zen eval $name failed:"; cat "$work/$name.log"; exit 1; }
}
score dense-1 dense 1
score dense-tp2 dense 2 parallel.tensor=2
score dense-pp2 dense 2 parallel.pipeline=2
score moe-1 moe 1
score moe-ep2 moe 2 parallel.expert=2

"$python" - "$work" <<'PY'
import json, math, os, sys
work = sys.argv[1]
failures = []
for name, model in [("dense-1", "dense"), ("dense-tp2", "dense"), ("dense-pp2", "dense"), ("moe-1", "moe"), ("moe-ep2", "moe")]:
    want = json.load(open(os.path.join(work, model + ".want.json")))
    lines = [json.loads(l) for l in open(os.path.join(work, name + ".out"))]
    got, summary = lines[:-1], lines[-1]
    assert len(got) == len(want), (name, len(got))
    worst = max(abs(g["loss"] - w) / w for g, w in zip(got, want))
    tokens = [g["tokens"] for g in got]
    mean = sum(w * t for w, t in zip(want, tokens)) / sum(tokens)
    print("%-10s per-sequence losses %s, worst relative error vs transformers %.2e; mean_loss %.6f (transformers %.6f), perplexity %.3f" % (
        name, [round(g["loss"], 5) for g in got], worst, summary["mean_loss"], mean, summary["perplexity"]))
    assert tokens == [11, 4, 29, 1, 16], tokens
    if worst > 1e-4 or abs(summary["mean_loss"] - mean) > 1e-4 * mean or abs(summary["perplexity"] - math.exp(summary["mean_loss"])) > 1e-9 * summary["perplexity"]:
        failures.append(name)
if failures:
    print("mismatch:", failures)
    sys.exit(1)
PY

# Validation during training: eval_loss every eval.interval steps, the same under tp=2.
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=2 "${nano_tiny[@]}" train.max_steps=4 train.seq_len=64
      train.global_batch_size=4 train.micro_batch_size=2 train.threads=1 data.eval_fraction=0.05 eval.interval=2
      eval.rows=8)
"$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" eval.keep_best=true output_dir="$work/val-1" \
  >"$work/val-1.log" 2>&1
"${mpi[@]}" -np 2 "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" parallel.tensor=2 output_dir="$work/val-tp2" \
  >"$work/val-tp2.log" 2>&1
"$python" - "$work" <<'PY'
import json, math, os, sys
work = sys.argv[1]
rows = {run: [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))] for run in ["val-1", "val-tp2"]}
evals = {run: [(r["step"], r["eval_loss"]) for r in rs if "eval_loss" in r] for run, rs in rows.items()}
print("eval_loss by step: one process %s, tp=2 %s" % (evals["val-1"], evals["val-tp2"]))
assert [s for s, _ in evals["val-1"]] == [2, 4], evals
for (s, a), (_, b) in zip(evals["val-1"], evals["val-tp2"]):
    assert abs(a - b) <= 1e-5 * a, (s, a, b)
best_step = min(evals["val-1"], key=lambda e: e[1])[0]
kept = open(os.path.join(work, "val-1", "checkpoints", "best", "latest")).read().strip()
assert kept == "step-%08d" % best_step, (kept, best_step)
print("eval.keep_best kept %s (lowest eval_loss at step %d)" % (kept, best_step))
for r in rows["val-1"]:
    if "eval_loss" in r:
        assert abs(r["eval_ppl"] - math.exp(r["eval_loss"])) < 1e-6 * r["eval_ppl"] and r["eval_tokens"] > 0, r
PY

# Bad input: exit 2 naming file and line.
bad() {  # bad WHAT CONTENT
  printf '%s' "$2" >"$work/bad.jsonl"
  local rc=0
  "$zen" eval configs/recipes/zen-nano-lora.yaml "~lora" model.checkpoint="$work/dense/model" output_dir="$work/none" train.seq_len=64 \
    --input "$work/bad.jsonl" >"$work/bad.out" 2>&1 || rc=$?
  [ "$rc" = 2 ] || { echo "expected exit 2 for $1, got $rc"; cat "$work/bad.out"; exit 1; }
  grep -q "$1" "$work/bad.out" || { echo "no message naming $1"; cat "$work/bad.out"; exit 1; }
}
bad "bad.jsonl: no sequences" ""
bad "bad.jsonl:2: token id 999 is outside" $'{"ids": [1, 2]}\n{"ids": [1, 999]}\n'
bad "bad.jsonl:1: not a JSON object" $'{"ids": [1, 2\n'
bad "bad.jsonl:1: 300 tokens, longer than model.max_position" "{\"ids\": [$(seq -s, 1 300 | sed 's/[0-9]\+/1/g')]}"
echo PASS
