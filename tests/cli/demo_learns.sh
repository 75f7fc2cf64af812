#!/usr/bin/env bash
# The demo learns to add: a shorter run of the demo recipe (configs/recipes/zen-nano-demo.yaml, as
# scripts/demo.sh trains it, 300 steps of its 800) answers additions that no demo corpus holds
# (data/loader/demo_task.h) exactly, scored from `zen generate --input` by scripts/demo_accuracy.py as the demo
# scores them: measured 5.0-6.2% of 338 at lr 3e-3, 6e-3 and 1.2e-2 (the full demo: 91%), against 0 of 338
# for the same model after one step, so the threshold, 3%, is learning with room for noise. The run
# records the byte tokenizer it trained with, so `zen generate` on its output_dir needs no tokenizer file.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-demo.yaml
run=(train.max_steps=300 train.threads=1 output_dir="$work/run")
"$zen" train "$recipe" "${run[@]}" > "$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
grep -q '^  path: bytes$' "$work/run/config.resolved.yaml" || { echo "config.resolved.yaml does not name the byte tokenizer"; exit 1; }

# Every third held-out question (the file is in order of the addends, so this spreads over all of them).
awk 'NR % 3 == 1' "$work/run/demo_held_out.jsonl" > "$work/questions.jsonl"
"$zen" generate "$recipe" "${run[@]}" --chat --max-new-tokens 8 --input "$work/questions.jsonl" > "$work/answers.jsonl"
"$python" scripts/demo_accuracy.py "$work/questions.jsonl" "$work/answers.jsonl" --examples 4 --min-accuracy 0.03

# After one step the same model answers (next to) none of them, so the threshold above measures learning.
"$zen" train "$recipe" train.max_steps=1 train.threads=1 output_dir="$work/untrained" > /dev/null 2>&1
"$zen" generate "$recipe" train.max_steps=1 output_dir="$work/untrained" --chat --input "$work/questions.jsonl" \
  --max-new-tokens 4 > "$work/untrained.jsonl"
"$python" scripts/demo_accuracy.py "$work/questions.jsonl" "$work/untrained.jsonl" --examples 0 > "$work/untrained.txt"
cat "$work/untrained.txt"
grep -q "^held-out accuracy: [0-3]/" "$work/untrained.txt" || { echo "the untrained model already adds?"; exit 1; }
