#!/usr/bin/env bash
# Adapter-only checkpoints: LoRA on a frozen base from model.checkpoint (a sharded bf16 Hugging Face folder)
# with bf16 parameters, as at real scale (docs/checkpoints.md, "Adapter-only checkpoints"):
#   1. the checkpoint holds the adapters, their optimizer state and the RNG, no base tensor, and is under
#      15% of the base's bytes; the manifest's size is the shard files' and is logged;
#   2. a run that fails after step 3 and resumes from its adapter-only checkpoint gives the uninterrupted run's
#      losses bit for bit (LoRA dropout on: the RNG is restored too);
#   3. zen export reads the base from model.checkpoint: --format hf equals peft's own merge of the exported
#      --format peft adapters onto the base (transformers + peft, in fp32);
#   4. a changed base (one tensor of one shard edited in place) is exit 2 for both train and export, naming
#      the shard and what differs.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
export OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml

"$python" - "$work/base" <<'PY'
import sys, torch
from transformers import Qwen3Config, Qwen3ForCausalLM
torch.manual_seed(0)
config = Qwen3Config(vocab_size=4096, hidden_size=256, intermediate_size=1024, num_hidden_layers=4,
                     num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=256,
                     rms_norm_eps=1e-6, rope_theta=1e6, tie_word_embeddings=False)
model = Qwen3ForCausalLM(config)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            p.uniform_(0.5, 1.5)  # not all ones: a base the adapters must be paired with
model.to(torch.bfloat16).save_pretrained(sys.argv[1], safe_serialization=True, max_shard_size="4MB")
PY
ls "$work/base"/model.safetensors.index.json >/dev/null

args=(data.source=demo model.checkpoint="$work/base" train.param_dtype=bf16 lora.rank=4 lora.dropout=0.1
      optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=6 train.seq_len=32 train.global_batch_size=2
      train.micro_batch_size=1 train.threads=1 checkpoint.interval=3)
train() {  # train DIR: exit status in $rc, log in DIR.log
  rc=0
  "$zen" train "$recipe" "${args[@]}" output_dir="$1" >>"$1.log" 2>&1 || rc=$?
}
must() { [ "$rc" = 0 ] || { echo "run failed ($rc):"; tail -20 "$1.log"; exit 1; }; }

# 2. resume from an adapter-only checkpoint
train "$work/whole"; must "$work/whole"
ZEN_TEST_FAULT=0:4:fail train "$work/cut"
[ "$rc" != 0 ] || { echo "the injected failure did not stop the run"; exit 1; }
train "$work/cut"; must "$work/cut"
grep -q "resumed from .*step-00000003" "$work/cut.log" || { echo "did not resume"; tail "$work/cut.log"; exit 1; }
grep -q "adapter-only checkpoint, [0-9]* bytes" "$work/whole.log" || { echo "no size logged"; exit 1; }

# 3. export from the adapter-only checkpoint
for format in hf peft; do
  "$zen" export "$recipe" "${args[@]}" output_dir="$work/whole" --format $format --out "$work/export-$format" \
    >"$work/export-$format.log" 2>&1 || { cat "$work/export-$format.log"; exit 1; }
done

"$python" - "$work" <<'PY'
import json, os, sys
import torch
from safetensors import safe_open
work = sys.argv[1]
rows = lambda run: [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl"))]
failures = []
def check(ok, message):
    print(("ok    " if ok else "FAIL  ") + message)
    if not ok:
        failures.append(message)

# 1. what the checkpoint holds
step = os.path.join(work, "whole", "checkpoints", "step-00000006")
keys, ckpt_bytes = [], 0
for name in os.listdir(step):
    ckpt_bytes += os.path.getsize(os.path.join(step, name))
    if name.endswith(".safetensors"):
        with safe_open(os.path.join(step, name), "pt") as f:
            keys += list(f.keys())
base_bytes = sum(os.path.getsize(os.path.join(work, "base", n)) for n in os.listdir(os.path.join(work, "base")))
model_keys = [k for k in keys if k.startswith("model/")]
check(len(model_keys) > 0 and all(".lora_" in k for k in model_keys),
      "the checkpoint's model/ tensors are the %d adapters only" % len(model_keys))
check(any(k.endswith(".master") for k in keys) and any(k.startswith("rng/") for k in keys),
      "it holds the adapters' fp32 masters and the RNG")
check(ckpt_bytes < 0.15 * base_bytes, "checkpoint folder %d bytes, base %d bytes (%.1f%%, < 15%%)"
      % (ckpt_bytes, base_bytes, 100.0 * ckpt_bytes / base_bytes))
logged = [l for l in open(os.path.join(work, "whole.log")) if "adapter-only checkpoint" in l][-1]
shards = sum(os.path.getsize(os.path.join(step, n)) for n in os.listdir(step) if n.endswith(".safetensors"))
check(" %d bytes" % shards in logged, "logged size equals the shard files' (%d bytes): %s" % (shards, logged.strip()))

# 2. resume
whole, cut = rows("whole"), rows("cut")
check([r["step"] for r in cut] == [1, 2, 3, 4, 5, 6], "resumed run logs each step once")
check([(r["loss"], r["grad_norm"]) for r in whole] == [(r["loss"], r["grad_norm"]) for r in cut],
      "resume from the adapter-only checkpoint bit-identical: %s" % [r["loss"] for r in cut[3:]])
check(whole[-1]["loss"] < whole[0]["loss"], "loss falls: %s" % [round(r["loss"], 4) for r in whole])

# 3. hf export == peft's merge of the peft export onto the base
from transformers import AutoModelForCausalLM
from peft import PeftModel
base = AutoModelForCausalLM.from_pretrained(os.path.join(work, "base"), dtype=torch.float32)
merged = PeftModel.from_pretrained(base, os.path.join(work, "export-peft")).merge_and_unload()
ours = AutoModelForCausalLM.from_pretrained(os.path.join(work, "export-hf"), dtype=torch.float32)
theirs = dict(merged.named_parameters())
worst = max((p - theirs[k]).abs().max().item() for k, p in ours.named_parameters())
check(worst <= 1e-6, "zen export --format hf equals peft's merge of --format peft onto the base: max |diff| %.2e" % worst)
if failures:
    sys.exit(1)
PY

# 4. a changed base: one tensor of one shard edited in place (same size and header)
shard=$("$python" - "$work/base" <<'PY'
import json, os, sys
from safetensors.torch import load_file, save_file
folder = sys.argv[1]
shard = json.load(open(os.path.join(folder, "model.safetensors.index.json")))["weight_map"]["model.embed_tokens.weight"]
path = os.path.join(folder, shard)
tensors = load_file(path)
tensors["model.embed_tokens.weight"] = tensors["model.embed_tokens.weight"] * 1.5
save_file(tensors, path, metadata={"format": "pt"})
print(shard)
PY
)
for command in train export; do
  rc=0
  if [ $command = train ]; then
    "$zen" train "$recipe" "${args[@]}" train.max_steps=8 output_dir="$work/whole" >"$work/changed.log" 2>&1 || rc=$?
  else
    "$zen" export "$recipe" "${args[@]}" output_dir="$work/whole" --format peft --out "$work/export-again" \
      >"$work/changed.log" 2>&1 || rc=$?
  fi
  [ "$rc" = 2 ] || { echo "$command with a changed base: expected exit 2, got $rc"; tail "$work/changed.log"; exit 1; }
  tail -1 "$work/changed.log" | grep -q "model.checkpoint: .*/$shard changed: its contents differ" ||
    { echo "$command: no message naming $shard"; tail -3 "$work/changed.log"; exit 1; }
  echo "ok    $command with a changed base: exit 2: $(tail -1 "$work/changed.log" | cut -c1-160)..."
done
echo PASS
