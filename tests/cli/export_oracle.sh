#!/usr/bin/env bash
# zen export: a tiny LoRA run trained in one process and one trained under tp=2 are each exported as a
# merged Hugging Face folder and as a PEFT adapter; transformers and peft load both and give the same
# logits (relative 1e-4), whatever layout saved the checkpoint. No checkpoint, or peft without LoRA: exit 2.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml
source "$src/tests/cli/lib/nano_tiny.sh"
args=(data.source=demo model.layers=2 "${nano_tiny[@]}" train.max_steps=3 train.seq_len=32
      train.global_batch_size=4 train.micro_batch_size=2 train.threads=1 optim.lr=1e-2 optim.warmup_steps=0)

expect_exit2() {  # expect_exit2 WORD ARGS...: exit 2 and WORD in the message
  local word=$1; shift
  set +e; "$zen" export "$@" > "$work/err.log" 2>&1; local code=$?; set -e
  [[ $code == 2 ]] || { echo "expected exit 2, got $code: $*"; cat "$work/err.log"; exit 1; }
  grep -q -- "$word" "$work/err.log" || { echo "message lacks '$word':"; cat "$work/err.log"; exit 1; }
}
expect_exit2 "$work/none" $recipe "${args[@]}" output_dir="$work/none" --format hf --out "$work/x"
expect_exit2 "without LoRA" $recipe "${args[@]}" '~lora' output_dir="$work/none" --format peft --out "$work/x"
expect_exit2 "--format" $recipe "${args[@]}" output_dir="$work/none" --format gguf --out "$work/x"

"$zen" train $recipe "${args[@]}" output_dir="$work/one" > "$work/one.log" 2>&1 || { cat "$work/one.log"; exit 1; }
mpirun --oversubscribe --bind-to none -np 2 -x OMP_NUM_THREADS "$zen" train $recipe "${args[@]}" \
  parallel.tensor=2 output_dir="$work/tp2" > "$work/tp2.log" 2>&1 || { cat "$work/tp2.log"; exit 1; }
for run in one tp2; do
  for format in hf peft; do
    "$zen" export $recipe "${args[@]}" output_dir="$work/$run" --format $format --out "$work/$run-$format" \
      > "$work/export.log" 2>&1 || { cat "$work/export.log"; exit 1; }
  done
done
# A checkpoint of another LoRA setup is refused rather than exported with the wrong scale.
expect_exit2 "another model" $recipe "${args[@]}" lora.alpha=32 output_dir="$work/one" --format hf --out "$work/x"

"$python" - "$work" <<'PY'
import json, os, sys, torch
from safetensors.torch import load_file, save_file
work = sys.argv[1]
torch.manual_seed(0)
save_file({"input_ids": torch.randint(0, 512, (2, 24))}, os.path.join(work, "ids.safetensors"))
for run in ("one", "tp2"):
    config = json.load(open(os.path.join(work, f"{run}-peft", "adapter_config.json")))
    assert config["r"] == 8 and config["lora_alpha"] == 16, config
    assert sorted(config["target_modules"]) == sorted(["q_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                       "down_proj"]), config
    adapters = load_file(os.path.join(work, f"{run}-peft", "adapter_model.safetensors"))
    assert len(adapters) == 2 * 2 * 6, sorted(adapters)
    b = [t for name, t in adapters.items() if name.endswith("lora_B.weight")]
    assert all(t.abs().max() > 0 for t in b), "training left some lora_B at zero"
    hf = json.load(open(os.path.join(work, f"{run}-hf", "config.json")))
    assert hf["architectures"] == ["Qwen3ForCausalLM"] and hf["torch_dtype"] == "float32", hf
PY
oracle=tests/oracle/export_logits.py
for run in one tp2; do  # the merged model against peft on the base, each run
  "$python" $oracle "$work/ids.safetensors" "$work/$run-hf" "$work/$run-peft"
done
# The two layouts trained the same steps: their exports agree to float noise of three AdamW steps.
"$python" $oracle "$work/ids.safetensors" "$work/one-hf" "$work/tp2-hf" --tol 1e-3
echo PASS
