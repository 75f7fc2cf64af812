#!/usr/bin/env bash
# `zen eval` and `zen generate` use the checkpoint `zen train` would resume from (docs/checkpoints.md):
# with train.resume_from=2 in a run that saved steps 2, 4 and 6, both read step 2, exactly as they read a
# folder whose only (latest) checkpoint is that step-2 copy: the same losses and the same sampled ids, bit
# for bit; without the override the latest step scores differently; a name that is no complete checkpoint
# exits 2 listing the complete ones.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo tokenizer.path=bytes model.layers=2 "${nano_tiny[@]}" model.max_position=64
      optim.lr=1e-2 optim.warmup_steps=0 train.max_steps=6 train.seq_len=64 train.global_batch_size=4
      train.micro_batch_size=2 train.threads=1 checkpoint.interval=2 checkpoint.keep=0)
fail() { echo "FAIL: $*"; exit 1; }
"$zen" train "$recipe" "${tiny[@]}" output_dir="$work/run" > "$work/train.log" 2>&1 ||
  { cat "$work/train.log"; fail "train"; }
mkdir -p "$work/only2/checkpoints"
cp -r "$work/run/checkpoints/step-00000002" "$work/only2/checkpoints/"
echo step-00000002 > "$work/only2/checkpoints/latest"

printf '%s\n' '{"ids": [12, 40, 7, 99, 300, 5, 61]}' '{"text": "17+25=42"}' > "$work/seqs.jsonl"
score() {  # score NAME OVERRIDES...: zen eval's stdout in NAME.json, stderr in NAME.log
  local name=$1
  shift
  "$zen" eval "$recipe" "${tiny[@]}" "$@" --input "$work/seqs.jsonl" > "$work/$name.json" 2> "$work/$name.log" ||
    { cat "$work/$name.log"; fail "zen eval $name"; }
}
score named output_dir="$work/run" train.resume_from=2
score copy output_dir="$work/only2"
score latest output_dir="$work/run"
grep -qF "zen eval: the model of $work/run/checkpoints/step-00000002" "$work/named.log" ||
  { cat "$work/named.log"; fail "zen eval with train.resume_from=2 did not read step 2"; }
cmp -s "$work/named.json" "$work/copy.json" ||
  { paste "$work/named.json" "$work/copy.json"; fail "eval: step 2 by name != step 2 alone"; }
cmp -s "$work/named.json" "$work/latest.json" &&
  { cat "$work/named.json"; fail "eval: step 2 scores as the latest step 6 does"; }
echo "zen eval, resume_from=2: $(tail -1 "$work/named.json") = the step-2 copy's; latest: $(tail -1 "$work/latest.json")"

sample() {  # sample NAME OVERRIDES...: zen generate's seeded samples in NAME.jsonl, stderr in NAME.log
  local name=$1
  shift
  "$zen" generate "$recipe" "${tiny[@]}" "$@" --input "$work/prompts.jsonl" --max-new-tokens 12 --temperature 1 --seed 5 \
    > "$work/$name.jsonl" 2> "$work/$name.log" || { cat "$work/$name.log"; fail "zen generate $name"; }
}
printf '%s\n' '{"prompt": "12+34="}' '{"prompt": "What is 7+8?"}' > "$work/prompts.jsonl"
sample gen-named output_dir="$work/run" train.resume_from=2
sample gen-copy output_dir="$work/only2"
grep -qF "from $work/run/checkpoints/step-00000002 (step 2)" "$work/gen-named.log" ||
  { cat "$work/gen-named.log"; fail "zen generate with train.resume_from=2 did not read step 2"; }
cmp -s "$work/gen-named.jsonl" "$work/gen-copy.jsonl" ||
  { paste "$work/gen-named.jsonl" "$work/gen-copy.jsonl"; fail "generate: step 2 by name != step 2 alone"; }
ids=$("$python" -c 'import json, sys; print([json.loads(l)["ids"] for l in open(sys.argv[1])])' "$work/gen-named.jsonl")
echo "zen generate, resume_from=2: the step-2 copy's ids, $ids"

for command in eval generate; do
  rc=0
  input=$([ "$command" = eval ] && echo "$work/seqs.jsonl" || echo "$work/prompts.jsonl")
  "$zen" "$command" "$recipe" "${tiny[@]}" output_dir="$work/run" train.resume_from=3 --input "$input" \
    > /dev/null 2> "$work/$command-bad.log" || rc=$?
  [ "$rc" = 2 ] || { cat "$work/$command-bad.log"; fail "zen $command, resume_from=3: expected exit 2, got $rc"; }
  want="train.resume_from=3: $work/run/checkpoints/step-00000003 is no complete checkpoint"
  want+=" (complete ones in $work/run/checkpoints: step 2, 4, 6)"
  grep -qF "$want" "$work/$command-bad.log" || { cat "$work/$command-bad.log"; fail "zen $command, resume_from=3: message"; }
done
echo "resume_from=3: exit 2 from both, listing steps 2, 4, 6"
echo PASS
