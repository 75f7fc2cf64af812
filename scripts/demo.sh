#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the main job: a short LoRA fine-tune of a tiny Zen-Nano-shaped model
# on the embedded demo task (two-number additions in chat form). Extra arguments are recipe overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf runs/demo
build/zen train configs/recipes/zen-nano-lora.yaml data.source=demo \
  model.layers=2 model.hidden=128 model.heads=4 model.kv_heads=2 model.head_dim=32 model.ffn=256 \
  model.vocab=512 optim.lr=2e-3 optim.warmup_steps=5 train.seq_len=256 train.global_batch_size=16 \
  train.max_steps=60 output_dir=runs/demo "$@"
echo "demo: metrics in runs/demo/metrics.jsonl; TensorBoard: tensorboard --logdir runs/demo"
