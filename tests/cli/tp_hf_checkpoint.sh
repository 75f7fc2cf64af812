#!/usr/bin/env bash
# Training from a Hugging Face checkpoint (model.checkpoint) under tp=2: each rank loads its slices of
# the safetensors, and the losses equal one process loading the whole model (relative 1e-5).
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" - "$work/hf" <<'PY'
import sys, torch
from transformers import Qwen3Config, Qwen3ForCausalLM
torch.manual_seed(0)
config = Qwen3Config(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
                     rms_norm_eps=1e-6, rope_theta=1e6, tie_word_embeddings=False)
Qwen3ForCausalLM(config).save_pretrained(sys.argv[1], safe_serialization=True)
PY

args=(data.source=demo model.checkpoint="$work/hf" optim.lr=1e-3 optim.warmup_steps=0 train.max_steps=3
      train.seq_len=64 train.global_batch_size=4 train.micro_batch_size=2 train.threads=1)
"$zen" train configs/recipes/zen-nano-lora.yaml "${args[@]}" output_dir="$work/one" > "$work/one.log" 2>&1 || { cat "$work/one.log"; exit 1; }
mpirun --oversubscribe --bind-to none -np 2 -x OMP_NUM_THREADS "$zen" train configs/recipes/zen-nano-lora.yaml \
  "${args[@]}" parallel.tensor=2 output_dir="$work/tp2" > "$work/tp2.log" 2>&1 || { cat "$work/tp2.log"; exit 1; }

"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
load = lambda run: [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))]
one, tp2 = load("one"), load("tp2")
print("one process:", [round(r["loss"], 6) for r in one])
print("tp=2:       ", [round(r["loss"], 6) for r in tp2])
for a, b in zip(one, tp2):
    assert abs(a["loss"] - b["loss"]) <= 1e-5 * abs(a["loss"]), (a, b)
# A pretrained-looking start: the loaded model's first loss is that of its own random weights, not ours.
assert len(one) == 3 and len(tp2) == 3
ranks = json.load(open(os.path.join(work, "tp2", "run.json")))["ranks"]
single = json.load(open(os.path.join(work, "one", "run.json")))["ranks"][0]
assert all(r["params"] < single["params"] for r in ranks), (ranks, single)
PY
echo PASS
