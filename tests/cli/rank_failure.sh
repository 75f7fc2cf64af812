#!/usr/bin/env bash
# A rank that fails ends the whole job within seconds with its message and a non-zero exit; a rank that
# stops answering turns, after parallel.timeout_s, into an error naming the collective. Never a hang.
set -uo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=1 "${nano_tiny[@]}" train.max_steps=50 train.seq_len=32
      train.global_batch_size=4 train.micro_batch_size=2 train.threads=1)
mpi+=(-x ZEN_TEST_FAULT)

check() {  # name, max seconds, expected text, command...
  local name=$1 limit=$2 expect=$3; shift 3
  local start=$(date +%s)
  timeout 120 "$@" > "$work/$name.log" 2>&1
  local rc=$? took=$(( $(date +%s) - start ))
  echo "$name: exit $rc after ${took}s"
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { echo "$name: expected a non-zero exit (not a hang)"; cat "$work/$name.log"; exit 1; }
  [ "$took" -le "$limit" ] || { echo "$name: took ${took}s, more than ${limit}s"; exit 1; }
  grep -q "$expect" "$work/$name.log" || { echo "$name: output lacks '$expect'"; cat "$work/$name.log"; exit 1; }
}

export ZEN_TEST_FAULT=1:3:fail
check failing-rank 30 "injected failure" "${mpi[@]}" -np 2 "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" output_dir="$work/fail"
export ZEN_TEST_FAULT=1:3:hang
check silent-rank 40 "did not complete within parallel.timeout_s" "${mpi[@]}" -np 2 "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" parallel.timeout_s=5 output_dir="$work/hang"
unset ZEN_TEST_FAULT

# A layout the model cannot take is bad input: exit 2 on every rank, one message, before any compute.
"${mpi[@]}" -np 2 "$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" model.heads=3 model.kv_heads=3 model.head_dim=16 parallel.tensor=2 output_dir="$work/bad" > "$work/bad.log" 2>&1
rc=$?
echo "bad layout: exit $rc: $(grep zen: "$work/bad.log" | head -2)"
[ "$rc" -eq 2 ] || { cat "$work/bad.log"; exit 1; }
[ "$(grep -c 'zen:' "$work/bad.log")" -eq 1 ] || { echo "expected one message"; cat "$work/bad.log"; exit 1; }
grep -q "parallel.tensor=2: model.heads (3) is not divisible by 2" "$work/bad.log" || { cat "$work/bad.log"; exit 1; }
echo PASS
