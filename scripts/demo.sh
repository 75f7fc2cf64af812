#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the main job: trains a tiny Zen-Nano-shaped model from scratch on
# the embedded demo task (two-number additions in chat form; configs/recipes/zen-nano-demo.yaml), then
# asks it the additions the task holds out of training (`zen generate --input`) and prints how many it
# gets right and some of its answers (docs/demo.md). Extra arguments are recipe overrides for both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
recipe=configs/recipes/zen-nano-demo.yaml
out=runs/demo  # the recipe's output_dir, unless an override moves it
for arg in "$@"; do
  if [[ $arg == output_dir=* ]]; then out=${arg#output_dir=}; fi
done
rm -rf runs/demo  # a fresh run each time (an output_dir given as an override is left as it is: it resumes)
build/zen train "$recipe" "$@"
echo "demo: asking the trained model the $(wc -l < "$out/demo_held_out.jsonl") held-out additions"
build/zen generate "$recipe" "$@" --chat --max-new-tokens 8 --input "$out/demo_held_out.jsonl" > "$out/demo_held_out_answers.jsonl"
.venv/bin/python scripts/demo_accuracy.py "$out/demo_held_out.jsonl" "$out/demo_held_out_answers.jsonl"
echo "demo: metrics in $out/metrics.jsonl; TensorBoard: tensorboard --logdir $out"
echo "demo: ask it yourself: build/zen generate $recipe $* --chat --prompt \"What is 45+38?\""
