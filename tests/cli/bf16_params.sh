#!/usr/bin/env bash
# train.param_dtype=bf16 (docs/memory.md, "bf16 parameters"):
#   1. LoRA at a weights-dominated tiny shape: measured peak_memory_bytes <= 0.7 x the fp32 run's, and the
#      loss falls;
#   2. exact resume: a bf16 LoRA run (dropout on) that fails after step 3 continues bit-identically;
#   3. full fine-tuning in bf16: the loss falls; the checkpoint holds bf16 weights, fp32 norm gains and an fp32
#      master for every bf16 trainable; zen export --format hf writes it and transformers loads it with the
#      checkpoint's weights;
#   4. layouts in bf16: tp=2 and pp=2 (full fine-tuning) and ep=2 (MoE, LoRA) give one bf16 process's losses
#      within 2e-3 relative: one bf16 rounding (2^-9 = 1.95e-3), where fp32 layouts are held to 1e-5 (a layout
#      changes where partial sums are rounded to bf16, and the steps carry it forward).
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml
# Weights-dominated: 4 layers of hidden 256 (5.3M parameters) against 32 tokens per step.
wide=(data.source=demo model.layers=4 model.hidden=256 model.heads=4 model.kv_heads=2 model.head_dim=64
      model.ffn=1024 model.vocab=4096 optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=6 train.seq_len=32
      train.global_batch_size=1 train.micro_batch_size=1 train.threads=1)
small=(data.source=demo model.layers=4 model.hidden=64 model.heads=4 model.kv_heads=2 model.head_dim=16
       model.ffn=128 model.vocab=512 optim.lr=2e-3 optim.warmup_steps=2 train.max_steps=6 train.seq_len=64
       train.global_batch_size=8 train.micro_batch_size=2 train.threads=1 parallel.timeout_s=60 checkpoint.interval=3)

train() {  # train RANKS DIR OVERRIDES...: exit status in $rc, log in DIR.log
  local ranks=$1 dir=$2
  shift 2
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  rc=0
  "${launcher[@]}" "$zen" train "$recipe" "$@" output_dir="$dir" >>"$dir.log" 2>&1 || rc=$?
}
must() { [ "$rc" = 0 ] || { echo "run failed ($rc):"; tail -20 "$1.log"; exit 1; }; }

# 1. memory and learning at the wide shape
train 1 "$work/wide-fp32" "${wide[@]}"; must "$work/wide-fp32"
train 1 "$work/wide-bf16" "${wide[@]}" train.param_dtype=bf16; must "$work/wide-bf16"

# 2. exact resume of a bf16 LoRA run with dropout (RNG, adapters' masters and moments restored)
lora=("${small[@]}" train.param_dtype=bf16 lora.dropout=0.1)
train 1 "$work/lora-whole" "${lora[@]}"; must "$work/lora-whole"
ZEN_TEST_FAULT=0:4:fail train 1 "$work/lora-cut" "${lora[@]}"
[ "$rc" != 0 ] || { echo "the injected failure did not stop the run"; exit 1; }
train 1 "$work/lora-cut" "${lora[@]}"; must "$work/lora-cut"
grep -q "resumed from .*step-00000003" "$work/lora-cut.log" || { echo "did not resume"; exit 1; }

# 3. full fine-tuning in bf16, and its export
full=("${small[@]}" "~lora" train.param_dtype=bf16)
train 1 "$work/full" "${full[@]}"; must "$work/full"
"$zen" export "$recipe" "${full[@]}" output_dir="$work/full" --format hf --out "$work/full-hf" >"$work/export.log" 2>&1 ||
  { cat "$work/export.log"; exit 1; }

# 4. layouts in bf16 against one bf16 process
train 1 "$work/one" "${full[@]}"; must "$work/one"
train 2 "$work/tp2" "${full[@]}" parallel.tensor=2; must "$work/tp2"
train 2 "$work/pp2" "${full[@]}" parallel.pipeline=2; must "$work/pp2"
moe=("${small[@]}" train.param_dtype=bf16 model.experts=4 model.top_k=2 model.expert_ffn=32
     "lora.targets=[q,v,router,experts.*.wi,experts.*.wo]")
train 1 "$work/moe-one" "${moe[@]}"; must "$work/moe-one"
train 2 "$work/moe-ep2" "${moe[@]}" parallel.expert=2; must "$work/moe-ep2"

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

# 1. memory and learning
fp32, bf16 = rows("wide-fp32"), rows("wide-bf16")
peak32 = max(r["peak_memory_bytes"] for r in fp32)
peak16 = max(r["peak_memory_bytes"] for r in bf16)
check(peak16 <= 0.7 * peak32, "LoRA peak memory: bf16 %d bytes, fp32 %d bytes, ratio %.3f (<= 0.7)" % (peak16, peak32, peak16 / peak32))
check(bf16[-1]["loss"] < bf16[0]["loss"], "bf16 LoRA loss falls: %s" % [round(r["loss"], 4) for r in bf16])
print("      fp32 LoRA losses for comparison: %s" % [round(r["loss"], 4) for r in fp32])

# 2. exact resume
whole, cut = rows("lora-whole"), rows("lora-cut")
check([r["step"] for r in cut] == [1, 2, 3, 4, 5, 6], "resumed run logs each step once")
check([(r["loss"], r["grad_norm"]) for r in whole] == [(r["loss"], r["grad_norm"]) for r in cut],
      "bf16 LoRA resume bit-identical: %s" % [r["loss"] for r in cut[3:]])

# 3. full fine-tuning: learning, the checkpoint's dtypes and masters, the export
full = rows("full")
check(full[-1]["loss"] < full[0]["loss"], "bf16 full fine-tuning loss falls: %s" % [round(r["loss"], 4) for r in full])
step = os.path.join(work, "full", "checkpoints", "step-00000006")
tensors = {}
for name in os.listdir(step):
    if name.endswith(".safetensors"):
        with safe_open(os.path.join(step, name), "pt") as f:
            tensors.update({k: f.get_tensor(k) for k in f.keys()})
weights = {k[len("model/"):]: t for k, t in tensors.items() if k.startswith("model/")}
masters = {k[len("optim/"):-len(".master")]: t for k, t in tensors.items() if k.endswith(".master")}
norms = [k for k in weights if k.endswith("norm.weight")]
check(len(norms) > 0 and all(weights[k].dtype == torch.float32 for k in norms), "norm gains stored fp32 (%d)" % len(norms))
bf16_weights = [k for k, t in weights.items() if t.dtype == torch.bfloat16]
check(len(bf16_weights) + len(norms) == len(weights), "every other weight stored bf16 (%d)" % len(bf16_weights))
check(sorted(masters) == sorted(bf16_weights) and all(t.dtype == torch.float32 for t in masters.values()),
      "an fp32 master for each of the %d bf16 trainables, none for fp32 ones" % len(masters))
check(all(torch.equal(masters[k].to(torch.bfloat16), weights[k]) for k in masters), "each bf16 weight is its master, rounded")
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained(os.path.join(work, "full-hf"))
exported = dict(model.named_parameters())
check(all(torch.equal(exported[k].float(), weights[k].float()) for k in weights if k in exported),
      "zen export --format hf of the bf16 model: transformers loads the checkpoint's weights")

# 4. layouts
def same(base, run, tolerance=2e-3):
    a, b = rows(base), rows(run)
    worst = max(abs(x["loss"] - y["loss"]) / abs(x["loss"]) for x, y in zip(a, b))
    check(len(a) == len(b) == 6 and worst <= tolerance,
          "%-8s vs %-8s in bf16: worst relative loss difference %.2e (<= %g)" % (run, base, worst, tolerance))
same("one", "tp2")
same("one", "pp2")
same("moe-one", "moe-ep2")
if failures:
    sys.exit(1)
PY
echo PASS
