#!/usr/bin/env bash
# Serveable MoE expert adapters (docs/moe.md, "Serving expert adapters"), on tiny random Qwen3-MoE bases that
# transformers builds (4 experts, top-2):
#   1. a LoRA run with the Zen-Coder recipe's targets (router, experts.*.wi, experts.*.wo) exports with
#      --format peft; peft loads it on transformers' Qwen3MoeForCausalLM and its per-sequence losses equal
#      `zen eval`'s (relative 1e-4); the adapter changed the experts' output and the losses;
#   2. `zen eval model.adapter=THAT_FOLDER` on the base reproduces the trained run's losses, in one process
#      and under ep=2 (tp=2 for case 3);
#   3. the same on a base with a dense layer (decoder_sparse_step 2) and targets q, v, gate, up, down, router,
#      experts.*.wo (attention through target_modules, the dense MLP through target_parameters, down_proj alone);
#   4. an adapter for another base exits 2 naming the tensor: its experts on a dense layer, a tensor of
#      another shape.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-coder-lora.yaml
mpi+=(-np 2)

"$python" tests/oracle/make_tiny_qwen3_moe.py "$work/moe" --vocab 300 >/dev/null
"$python" tests/oracle/make_tiny_qwen3_moe.py "$work/moe2" --vocab 300 --sparse-step 2 >/dev/null
"$python" - "$work" <<'PY'
import json, os, sys, torch
torch.manual_seed(7)
with open(os.path.join(sys.argv[1], "ids.jsonl"), "w") as f:
    for n in (12, 5, 30, 17):
        f.write(json.dumps({"ids": torch.randint(0, 300, (n,)).tolist()}) + "\n")
PY

run() {  # run LOG COMMAND...: fail with the log unless it succeeds
  local log=$1; shift
  "$@" >"$log.out" 2>"$log.log" || { echo "failed: $*"; cat "$log.log"; exit 1; }
}
common=(data.source=demo train.max_steps=3 train.seq_len=32 train.global_batch_size=4 train.micro_batch_size=2
        train.threads=1 optim.lr=2e-2 optim.warmup_steps=0 checkpoint.interval=0)
for case in coder dense; do
  if [ $case = coder ]; then base=$work/moe/model; extra=()
  else base=$work/moe2/model; extra=("lora.targets=[q,v,gate,up,down,router,experts.*.wo]" lora.rank=4 lora.alpha=8); fi
  args=(model.checkpoint="$base" "${common[@]}" "${extra[@]}")
  run "$work/$case-train" "$zen" train $recipe "${args[@]}" output_dir="$work/$case"
  run "$work/$case-export" "$zen" export $recipe "${args[@]}" output_dir="$work/$case" --format peft --out "$work/$case-peft"
  # The trained run's checkpoint, then the exported adapter on the base (no checkpoint in output_dir).
  run "$work/$case-eval" "$zen" eval $recipe "${args[@]}" output_dir="$work/$case" --input "$work/ids.jsonl"
  run "$work/$case-import" "$zen" eval $recipe "${args[@]}" model.adapter="$work/$case-peft" \
    output_dir="$work/none" --input "$work/ids.jsonl"
  run "$work/$case-base" "$zen" eval $recipe "${args[@]}" output_dir="$work/none" --input "$work/ids.jsonl"
done
run "$work/dense-import-tp2" "${mpi[@]}" "$zen" eval $recipe model.checkpoint="$work/moe2/model" "${common[@]}" \
  "lora.targets=[q,v,gate,up,down,router,experts.*.wo]" lora.rank=4 lora.alpha=8 parallel.tensor=2 \
  model.adapter="$work/dense-peft" output_dir="$work/none" --input "$work/ids.jsonl"
run "$work/coder-import-ep2" "${mpi[@]}" "$zen" eval $recipe model.checkpoint="$work/moe/model" "${common[@]}" \
  parallel.expert=2 model.adapter="$work/coder-peft" output_dir="$work/none" --input "$work/ids.jsonl"

"$python" - "$work" <<'PY'
import json, os, sys
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
from peft import PeftModel
work = sys.argv[1]
failures = []
def check(ok, message):
    print(("ok    " if ok else "FAIL  ") + message)
    if not ok:
        failures.append(message)
losses = lambda name: [r["loss"] for r in map(json.loads, open(os.path.join(work, name + ".out"))) if "loss" in r]
seqs = [json.loads(l)["ids"] for l in open(os.path.join(work, "ids.jsonl"))]
rel = lambda a, b: max(abs(x - y) / abs(y) for x, y in zip(a, b))

def experts_outputs(model):
    """Each MoE block's experts output (hooked) over every sequence."""
    outs, hooks = [], []
    for name, module in model.named_modules():
        if name.endswith("mlp.experts"):  # Qwen3MoeExperts, or peft's ParamWrapper around it
            hooks.append(module.register_forward_hook(lambda m, i, o: outs.append(o.detach().clone())))
    with torch.no_grad():
        got = [model(input_ids=torch.tensor([s]), labels=torch.tensor([s])).loss.item() for s in seqs]
    for h in hooks:
        h.remove()
    return got, outs

for case, base_dir, want_params in [
        ("coder", "moe", ["mlp.experts.down_proj", "mlp.experts.gate_up_proj", "mlp.gate.weight"]),
        ("dense", "moe2", ["mlp.down_proj.weight", "mlp.experts.down_proj", "mlp.gate.weight", "mlp.gate_proj.weight",
                           "mlp.up_proj.weight"])]:
    folder = os.path.join(work, case + "-peft")
    config = json.load(open(os.path.join(folder, "adapter_config.json")))
    check(sorted(config.get("target_parameters", [])) == want_params,
          "%s: target_parameters %s, target_modules %s" % (case, config.get("target_parameters"), config["target_modules"]))
    tensors = load_file(os.path.join(folder, "adapter_model.safetensors"))
    zero_b = [k for k, t in tensors.items() if k.endswith("lora_B.weight") and t.abs().max() == 0]
    check(not zero_b, "%s: %d adapter tensors, every lora_B trained away from zero %s" % (case, len(tensors), zero_b))
    base_model = AutoModelForCausalLM.from_pretrained(os.path.join(work, base_dir, "model"), dtype=torch.float32).eval()
    base_losses, base_experts = experts_outputs(base_model)
    peft_model = PeftModel.from_pretrained(base_model, folder).eval()
    kinds = sorted({type(m).__name__ for m in peft_model.modules() if type(m).__module__.startswith("peft.tuners.lora")})
    peft_losses, peft_experts = experts_outputs(peft_model)
    zen, imported, zen_base = losses(case + "-eval"), losses(case + "-import"), losses(case + "-base")
    check(rel(peft_losses, zen) <= 1e-4, "%s: peft on transformers %s vs zen eval %s: worst relative %.2e (peft layers %s)"
          % (case, [round(x, 5) for x in peft_losses], [round(x, 5) for x in zen], rel(peft_losses, zen), kinds))
    check(rel(base_losses, zen_base) <= 1e-4, "%s: the base alone, transformers vs zen: worst relative %.2e"
          % (case, rel(base_losses, zen_base)))
    check(rel(imported, zen) <= 1e-5, "%s: zen eval model.adapter=%s-peft reproduces the run's losses: worst relative %.2e"
          % (case, case, rel(imported, zen)))
    moved = max(abs(a - b) for a, b in zip(peft_losses, base_losses))
    check(moved > 1e-3, "%s: the adapter moved the losses by up to %.4f" % (case, moved))
    if case == "coder":
        differ = min((a - b).abs().max().item() for a, b in zip(peft_experts, base_experts))
        check(len(peft_experts) == len(base_experts) > 0 and differ > 1e-4,
              "coder: every experts call's output changed under the adapter (smallest max |diff| %.3g over %d calls)"
              % (differ, len(peft_experts)))
        ep2 = losses("coder-import-ep2")
        check(rel(ep2, zen) <= 1e-5, "coder: the imported adapter under ep=2: worst relative %.2e" % rel(ep2, zen))
    else:
        tp2 = losses("dense-import-tp2")
        check(rel(tp2, zen) <= 1e-5, "dense: the imported adapter under tp=2: worst relative %.2e" % rel(tp2, zen))
if failures:
    sys.exit(1)
PY

# 4. another base: the all-MoE run's adapter on the base whose layer 0 is dense; a tensor of another shape.
expect_exit2() {  # expect_exit2 WORD ARGS...: zen eval exits 2 and names WORD
  local word=$1; shift
  set +e; "$zen" eval $recipe "${common[@]}" output_dir="$work/none" --input "$work/ids.jsonl" "$@" >"$work/err.log" 2>&1
  local code=$?; set -e
  [[ $code == 2 ]] || { echo "expected exit 2, got $code: $*"; cat "$work/err.log"; exit 1; }
  grep -qF -- "$word" "$work/err.log" || { echo "message lacks '$word':"; cat "$work/err.log"; exit 1; }
  echo "ok    exit 2: $(tail -1 "$work/err.log" | cut -c1-220)"
}
expect_exit2 "base_model.model.model.layers.0.mlp.experts.lora_A.weight" model.checkpoint="$work/moe2/model" \
  model.adapter="$work/coder-peft"
cp -r "$work/coder-peft" "$work/bad-peft"
"$python" - "$work/bad-peft/adapter_model.safetensors" <<'PY'
import sys
from safetensors.torch import load_file, save_file
tensors = load_file(sys.argv[1])
key = "base_model.model.model.layers.1.mlp.experts.lora_B.weight"
tensors[key] = tensors[key][:, :-8].contiguous()  # as if the base had fewer experts
save_file(tensors, sys.argv[1], metadata={"format": "pt"})
PY
expect_exit2 "base_model.model.model.layers.1.mlp.experts.lora_B.weight has shape" model.checkpoint="$work/moe/model" \
  model.adapter="$work/bad-peft"
expect_exit2 "lora.rank 4" model.checkpoint="$work/moe/model" model.adapter="$work/coder-peft" lora.rank=4
echo PASS
