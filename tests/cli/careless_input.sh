#!/usr/bin/env bash
# The careless user (issue 17): a recipe that is a folder, an empty file or has no model, a key given twice,
# a tensor-parallel degree the heads cannot split into, `--help` on any command, `--version`, and settings
# that are legal but probably mistakes (warnings, not errors).
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nano=configs/recipes/zen-nano-lora.yaml

# expect_bad CODE "TEXT..." -- ARGS...: zen ARGS exits CODE with one line on stderr holding every TEXT.
expect_bad() {
  local code=$1; shift
  local texts=()
  while [ "$1" != "--" ]; do texts+=("$1"); shift; done
  shift
  set +e
  err=$("$zen" "$@" 2>&1 >/dev/null)
  rc=$?
  set -e
  [ "$rc" -eq "$code" ] || { echo "zen $*: expected exit $code, got $rc: $err"; exit 1; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "zen $*: expected one line on stderr, got: $err"; exit 1; }
  for t in "${texts[@]}"; do
    printf '%s' "$err" | grep -qF -- "$t" || { echo "zen $*: message lacks \"$t\": $err"; exit 1; }
  done
  echo "zen $*: exit $rc, $err"
}

# 1. Recipes that are not recipes, for every command that loads one (all used to die of SIGFPE, exit 136).
mkdir "$work/folder.yaml"
printf '# only a comment\n' > "$work/empty.yaml"
printf 'train:\n  max_steps: 3\ndata:\n  source: demo\n' > "$work/no_model.yaml"
echo '{"ids": [1, 2, 3]}' > "$work/eval.jsonl"
for case in "folder.yaml:is a folder" "empty.yaml:the recipe is empty" "no_model.yaml:model: missing"; do
  recipe=$work/${case%%:*} text=${case#*:}
  expect_bad 2 "$recipe" "$text" -- validate "$recipe"
  expect_bad 2 "$recipe" "$text" -- plan "$recipe" --nodes 1 --gpus-per-node 8 --gpu-memory 80GiB
  expect_bad 2 "$recipe" "$text" -- export "$recipe" --format hf --out "$work/export"
  expect_bad 2 "$recipe" "$text" -- eval "$recipe" --input "$work/eval.jsonl"
  expect_bad 2 "$recipe" "$text" -- submit "$recipe" --nodes 1 --tasks-per-node 1 --dry-run
  expect_bad 2 "$recipe" "$text" -- data prepare --recipe "$recipe"
  expect_bad 2 "$recipe" "$text" -- train "$recipe"
  expect_bad 2 "$recipe" "$text" -- generate "$recipe" --prompt hi
done
[ ! -e "$work/export" ] || { echo "a failed export left $work/export behind"; exit 1; }
# A model section without its shapes, and heads=0, name the key instead of dividing by zero.
printf 'model:\n  name: x\ndata:\n  source: demo\n' > "$work/shapeless.yaml"
expect_bad 2 "model.layers: must be positive" -- validate "$work/shapeless.yaml" train.max_steps=3
expect_bad 2 "model.heads: must be positive" -- validate "$nano" model.heads=0
expect_bad 2 "$work/folder.yaml" "is a folder" -- sweep "$work/folder.yaml" --dry-run

# 2. A key given twice is bad input naming both lines: in a recipe, a model file and a sweep file.
printf 'model:\n  file: %s/configs/models/zen-nano.yaml\noptim:\n  lr: 1.0e-4\n  warmup_steps: 10\n  lr: 1.0e-3\n' \
  "$src" > "$work/twice.yaml"
expect_bad 2 "$work/twice.yaml:6: optim.lr: given twice in this file (lines 4 and 6)" -- validate "$work/twice.yaml"
sed 's/^  layers: \(.*\)/  layers: \1\n  layers: 3/' configs/models/zen-nano.yaml > "$work/model_twice.yaml"
grep -c '^  layers:' "$work/model_twice.yaml" | grep -qx 2
line1=$(grep -n '^  layers:' "$work/model_twice.yaml" | head -1 | cut -d: -f1)
expect_bad 2 "$work/model_twice.yaml:$((line1 + 1)): model.layers: given twice in this file (lines $line1 and $((line1 + 1)))" \
  -- validate "$nano" model.file="$work/model_twice.yaml"
printf 'recipe: %s/%s\noutput_dir: %s/sweep\ngrid:\n  lora.rank: [4, 8]\n  lora.rank: [16]\n' \
  "$src" "$nano" "$work" > "$work/sweep_twice.yaml"
expect_bad 2 "$work/sweep_twice.yaml:5: grid.lora.rank: given twice in this file (lines 4 and 5)" \
  -- sweep "$work/sweep_twice.yaml" --dry-run

# 3. The layout's shapes need no world size: `zen validate` refuses tp=3 with 4 heads, as `zen train` on 3 ranks would.
tiny=(data.source=demo model.layers=2 model.hidden=128 model.heads=4 model.kv_heads=2 model.head_dim=32
      model.ffn=256 model.vocab=512 optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=2 train.seq_len=128
      train.micro_batch_size=1 train.global_batch_size=2 train.threads=1)
expect_bad 2 "$nano: parallel.tensor=3: model.heads (4) is not divisible by 3" -- validate "$nano" "${tiny[@]}" parallel.tensor=3
expect_bad 2 "parallel.pipeline=4: model.layers (2) is fewer than the pipeline stages" \
  -- validate "$nano" "${tiny[@]}" parallel.pipeline=4
expect_bad 2 "parallel.expert=2: the model has no experts" -- validate "$nano" "${tiny[@]}" parallel.expert=2
"$zen" validate "$nano" "${tiny[@]}" parallel.tensor=2 > /dev/null

# 4. --help on every command (exit 0, its usage, its flags and an example), zen --help / help / -h.
commands=$("$zen" --help | awk '/^  [a-z]+ / {print $1}')
[ "$(echo "$commands" | wc -l)" -eq 10 ] || { echo "zen --help lists: $commands"; exit 1; }
for c in $commands; do
  out=$("$zen" "$c" --help)
  echo "$out" | head -1 | grep -q "^usage: zen $c" || { echo "zen $c --help: no usage line: $out"; exit 1; }
  echo "$out" | grep -q -A1 '^example:' || { echo "zen $c --help: no example"; exit 1; }
  [ "$("$zen" help "$c")" = "$out" ] || { echo "zen help $c differs from zen $c --help"; exit 1; }
  # Every flag the command's source accepts is explained in its help.
  for flag in $(grep -o '"--[a-z][a-z-]*"' "cli/${c}_command.cpp" | tr -d '"' | sort -u); do
    echo "$out" | grep -q -- "$flag" || { echo "zen $c --help does not mention $flag"; exit 1; }
  done
  echo "zen $c --help: ok"
done
"$zen" data prepare --help | grep -q "^usage: zen data prepare"
"$zen" train "$nano" --help | grep -q "^usage: zen train"   # --help wins over a runnable command line
"$zen" -h | grep -q "^usage: zen <command>"
[ "$("$zen" help)" = "$("$zen" --help)" ]
set +e; err=$("$zen" help nope 2>&1 >/dev/null); rc=$?; set -e
[ "$rc" -eq 2 ] && echo "$err" | head -1 | grep -qx 'zen: unknown command "nope"' \
  || { echo "zen help nope: expected exit 2 naming the command, got $rc: $err"; exit 1; }
set +e; "$zen" > /dev/null 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] || { echo "zen with no command: expected exit 2, got $rc"; exit 1; }

# 5. --version: zen and its commit, and the torch, CUDA, NCCL and MPI this process loads.
version=$("$zen" --version)
echo "$version"
echo "$version" | grep -Eq '^zen [0-9]+\.[0-9]+\.[0-9]+ \(git commit ([0-9a-f]{12}|unknown)\)$'
torch=$("$python" -c 'import torch; print(torch.__version__.split("+")[0])')
echo "$version" | grep -qx "torch $torch" || { echo "torch is $torch"; exit 1; }
cuda=$("$python" -c 'import torch; print(torch.version.cuda)')
echo "$version" | grep -q "^CUDA $cuda (torch's runtime); " || { echo "torch's CUDA is $cuda"; exit 1; }
nccl=$("$python" -c 'import nvidia.nccl, glob, re; h = open(glob.glob(nvidia.nccl.__path__[0] + "/include/nccl.h")[0]).read(); print(".".join(re.search(r"#define NCCL_" + k + r" (\d+)", h).group(1) for k in ("MAJOR", "MINOR", "PATCH")))')
echo "$version" | grep -qx "NCCL $nccl" || { echo "nccl.h says $nccl"; exit 1; }
mpi=$(mpirun --version 2>/dev/null | head -1 | grep -o '[0-9][0-9.]*$')
echo "$version" | grep -q "^MPI .*v$mpi" || { echo "mpirun says $mpi"; exit 1; }

# 6. Warnings: exit 0, printed once, naming the key. A warmup as long as the run (validate and train) ...
out=$("$zen" validate "$nano" data.source=demo train.max_steps=30 2>&1 >/dev/null)
echo "$out" | grep -qF "zen: warning: $nano:17: optim.warmup_steps: 100 warmup steps but the run has only 30" \
  || { echo "no warmup warning: $out"; exit 1; }
train_tiny=("${tiny[@]/optim.warmup_steps=0/optim.warmup_steps=5}")
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe --bind-to none -np 2 \
  -x OMP_NUM_THREADS=1 "$zen" train "$nano" "${train_tiny[@]}" output_dir="$work/run" 2> "$work/train.err" > /dev/null
[ "$(grep -c 'warning: .*optim.warmup_steps: 5 warmup steps but the run has only 2' "$work/train.err")" -eq 1 ] \
  || { echo "expected the warmup warning once from 2 ranks:"; cat "$work/train.err"; exit 1; }
# ... a learning rate with a wrong exponent ...
out=$("$zen" validate "$nano" optim.lr=5e5 2>&1 >/dev/null)
echo "$out" | grep -qF "zen: warning: override 'optim.lr=5e5': optim.lr: 500000 is far outside the usual range for LoRA" \
  || { echo "no lr warning: $out"; exit 1; }
out=$("$zen" validate "$nano" ~lora optim.lr=2e-3 2>&1 >/dev/null)
[ -z "$out" ] || { echo "a usual full-training lr warned: $out"; exit 1; }
# ... and a Hugging Face checkpoint stored in another dtype than the run trains in.
mkdir "$work/hf"
cat > "$work/hf/config.json" <<'JSON'
{"model_type": "qwen3", "num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
 "intermediate_size": 256, "vocab_size": 512, "max_position_embeddings": 512, "torch_dtype": "bfloat16"}
JSON
out=$("$zen" validate "$nano" model.checkpoint="$work/hf" train.seq_len=64 2>&1 >/dev/null)
echo "$out" | grep -qF "train.dtype: fp32 but model.checkpoint's $work/hf/config.json stores bfloat16 weights" \
  || { echo "no dtype warning: $out"; exit 1; }
out=$("$zen" validate "$nano" model.checkpoint="$work/hf" train.seq_len=64 train.dtype=bf16 2>&1 >/dev/null)
[ -z "$out" ] || { echo "a matching dtype warned: $out"; exit 1; }
echo "PASS"
