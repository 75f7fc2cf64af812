#!/usr/bin/env bash
# Runs the README's commands as written: every fenced block (``` ... ```; a block with a language tag,
# such as ```text for output, is not run), command by command (a command ends where bash would run it: a line not ending
# in \ and closing its quotes), in order, in one shell, so that a variable a block sets serves the next.
# They run in a sandbox that looks like a checkout: configs/, launch/ and scripts/ link to this one and
# build/zen to the binary under test, so relative paths and runs/ stay inside it. Nothing of a command's
# text changes but these substitutions, the only ones:
#   1. /tmp/       -> the test's own temporary folder (the README's scratch folders, /tmp/x, ...);
#   2. launch/mpirun.sh -> launch/mpirun.sh --dry-run (it prints the mpirun line instead of starting ranks:
#      the README's lines launch RECIPE placeholders, several over ssh; tests/cli/mpirun_launch.sh runs
#      real ranks). The sandbox holds a two-node `hosts` file for the --hostfile line.
# Commands that cannot run here are listed in `skip` below with the reason; each must still be in the
# README, word for word, so a changed command is run (or listed again) rather than skipped silently.
set -euo pipefail
zen=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A skip=(
  ["bash scripts/demo.sh"]="sets up (apt, pip, the build) and trains for minutes: tests/cli/demo_learns.sh runs its recipe and scoring, shorter; here a 20-step run of configs/recipes/zen-nano-demo.yaml into runs/demo stands in, for the commands that use its model"
  ["bash scripts/test.sh"]="runs the whole test suite, this test included"
  ["build/zen submit RECIPE ... --nodes 2 --tasks-per-node 8 --gpus-per-task 1 --time 1-00:00:00 --requeue"]="a synopsis (RECIPE ...) that submits to a SLURM cluster: tests/cli/slurm_submit.sh and slurm_requeue.sh run zen submit on a one-node cluster"
  ["build/zen data prepare --recipe configs/recipes/zen-nano-lora.yaml   # data/zen-nano.jsonl -> data/zen-nano/"]="needs your data/zen-nano.jsonl and Qwen3's tokenizer.json (a download): tests/cli/data_recipe.sh prepares a recipe's data from a small input"
  ["build/zen train configs/recipes/zen-nano-lora.yaml"]="the real run: 100B tokens of prepared data"
  ["build/zen sweep configs/sweeps/zen-nano-lora-rank-lr.yaml             # 3 ranks x 3 learning rates"]="nine real Zen-Nano runs of 2000 steps on prepared data: tests/cli/sweep.sh runs a sweep of tiny models"
)
demo_stand_in="build/zen train configs/recipes/zen-nano-demo.yaml train.max_steps=20 > /dev/null"

sandbox=$work/checkout
mkdir -p "$sandbox/build" "$work/tmp"
for d in configs launch scripts; do ln -s "$src/$d" "$sandbox/$d"; done
ln -s "$zen" "$sandbox/build/zen"
printf 'node1 slots=8\nnode2 slots=8\n' > "$sandbox/hosts"

# The README's commands, one per NUL-terminated record, prefixed by their block's number.
commands() {
  local in_block=0 run=0 block=0 acc=""
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == '```'* ]]; then
      if ((in_block)); then in_block=0; else in_block=1; block=$((block + 1)); [[ $line == '```' ]] && run=1 || run=0; fi
      continue
    fi
    ((in_block && run)) || continue
    acc+="${acc:+$'\n'}$line"
    [[ $acc == *\\ ]] && continue                 # continued on the next line
    bash -n -c "$acc" 2> /dev/null || continue    # an open quote or block: not complete yet
    # A comment line on its own is not a command.
    [[ $acc == *$'\n'* || ! $acc =~ ^[[:space:]]*(#|$) ]] && printf '%s\t%s\0' "$block" "$acc"
    acc=""
  done < "$src/README.md"
  [[ -z $acc ]] || { echo "README.md: a command never ends: $acc" >&2; exit 1; }
}

# The script the sandbox runs: each command echoed, then run as written (after the substitutions above).
script=$work/readme.sh
echo 'set -e -o pipefail' > "$script"
ran=0 skipped=0
declare -A seen=()
while IFS=$'\t' read -r -d '' block text; do
  first=${text%%$'\n'*}
  printf 'echo %q\n' "README block $block: $first" >> "$script"
  if [[ -v skip[$text] ]]; then
    seen[$text]=1
    skipped=$((skipped + 1))
    printf 'echo %q\n' "  skipped: ${skip[$text]}" >> "$script"
    [[ $text == "bash scripts/demo.sh" ]] && echo "$demo_stand_in" >> "$script"
    continue
  fi
  text=${text//\/tmp\//$work\/tmp\/}
  text=${text//launch\/mpirun.sh /launch\/mpirun.sh --dry-run }
  printf '%s\n' "$text" >> "$script"
  ran=$((ran + 1))
done < <(commands)

for text in "${!skip[@]}"; do
  [[ -v seen[$text] ]] || { echo "the skip list names a command README.md no longer has: $text"; exit 1; }
done
echo "README.md: $ran commands to run, $skipped skipped"
((ran >= 10)) || { echo "expected at least 10 commands to run, found $ran"; cat "$script"; exit 1; }
(cd "$sandbox" && bash "$script") > "$work/out.txt" 2>&1 || {
  code=$?
  cat "$work/out.txt"
  echo "a README command failed (exit $code): the last 'README block' line above names it"
  exit 1
}
grep '^README block\|^  skipped' "$work/out.txt"
