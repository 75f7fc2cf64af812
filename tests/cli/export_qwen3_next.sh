#!/usr/bin/env bash
# zen export for Qwen3-Next: LoRA runs from a tiny transformers Qwen3NextForCausalLM folder
# (tests/oracle/make_tiny_qwen3_next.py: Gated DeltaNet and gated attention layers, zero-centred norms, a
# gated shared expert; every norm and gate randomised) are exported and scored by transformers and peft
# against `zen eval` of the same checkpoint:
# 1. adapters on every target PEFT can express (the gated attention's q/k/v/o, the Gated DeltaNet's
#    in_proj_qkvz/in_proj_ba/out_proj, the shared expert's gate): the merged --format hf folder in
#    Qwen3NextForCausalLM and the --format peft adapter on the tiny base give zen eval's per-sequence losses
#    (relative 1e-4);
# 2. adapters on the router, the experts and the shared expert too: the merged folder and the --format peft
#    adapter (those parts through peft's target_parameters, as for Qwen3-MoE) give zen eval's losses.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$python" tests/oracle/make_tiny_qwen3_next.py "$work/tiny" --vocab 512 > /dev/null 2>&1
recipe=configs/recipes/zen-next-lora.yaml
args=(model.checkpoint="$work/tiny/model" data.source=demo tokenizer.path=bytes train.seq_len=160
      train.global_batch_size=2 train.micro_batch_size=1 train.threads=1 train.max_steps=3
      optim.lr=2e-2 optim.warmup_steps=0 lora.rank=4 lora.alpha=8)
expressible="lora.targets=[q,k,v,o,in_proj_qkvz,in_proj_ba,out_proj,shared_expert_gate]"
experts="lora.targets=[q,in_proj_qkvz,out_proj,router,experts.*.mlp,shared]"

# Sequences across the 64-position chunks of the gated delta rule (lengths not multiples of 64).
"$python" -c '
import json, random
random.seed(3)
for n in (70, 9, 130):
    print(json.dumps({"ids": [random.randrange(512) for _ in range(n)]}))' > "$work/seqs.jsonl"

# losses RUN FOLDER...: each folder's per-sequence losses in transformers (hf) or peft, against zen eval's.
compare() {
  "$python" - "$work/seqs.jsonl" "$work/$1.eval" "${@:2}" <<'PY'
import json, os, sys, torch
from transformers import AutoModelForCausalLM
seqs = [json.loads(l)["ids"] for l in open(sys.argv[1])]
want = [json.loads(l)["loss"] for l in open(sys.argv[2]).readlines()[:-1]]
def load(folder):
    config = os.path.join(folder, "adapter_config.json")
    if not os.path.exists(config):
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        assert type(model).__name__ == "Qwen3NextForCausalLM", type(model)
        return model
    from peft import PeftModel
    base = AutoModelForCausalLM.from_pretrained(json.load(open(config))["base_model_name_or_path"], dtype=torch.float32)
    return PeftModel.from_pretrained(base, folder)
for folder in sys.argv[3:]:
    model = load(folder).eval()
    with torch.no_grad():
        got = [model(input_ids=torch.tensor([s]), labels=torch.tensor([s])).loss.item() for s in seqs]
    worst = max(abs(g - w) / abs(w) for g, w in zip(got, want))
    print("%s: losses %s, zen eval %s, worst relative error %.2e" % (
        os.path.basename(folder), [round(g, 5) for g in got], [round(w, 5) for w in want], worst))
    assert len(got) == len(want) and worst <= 1e-4, folder
PY
}

run() {  # run NAME TARGETS: train from the tiny base, then zen eval of its checkpoint
  "$zen" train $recipe "${args[@]}" "$2" output_dir="$work/$1" > "$work/$1.log" 2>&1 ||
    { cat "$work/$1.log"; fail "zen train $1"; }
  "$zen" eval $recipe "${args[@]}" "$2" output_dir="$work/$1" --input "$work/seqs.jsonl" > "$work/$1.eval" \
    2> "$work/$1.eval.log" || { cat "$work/$1.eval.log"; fail "zen eval $1"; }
}
export_as() {  # export_as NAME TARGETS FORMAT
  "$zen" export $recipe "${args[@]}" "$2" output_dir="$work/$1" --format "$3" --out "$work/$1-$3" \
    > "$work/$1-$3.log" 2>&1
}

# 1. Every target PEFT can express.
run all "$expressible"
export_as all "$expressible" hf || { cat "$work/all-hf.log"; fail "export hf"; }
export_as all "$expressible" peft || { cat "$work/all-peft.log"; fail "export peft"; }
"$python" - "$work/all-peft/adapter_config.json" "$work/all-hf/config.json" <<'PY'
import json, sys
adapter, config = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
want = ["in_proj_ba", "in_proj_qkvz", "k_proj", "o_proj", "out_proj", "q_proj",
        "shared_expert_gate", "v_proj"]
assert sorted(adapter["target_modules"]) == want, adapter["target_modules"]
assert config["model_type"] == "qwen3_next" and config["layer_types"] == ["linear_attention", "full_attention"] * 2, config
print("peft targets", adapter["target_modules"])
PY
compare all "$work/all-hf" "$work/all-peft"

# 2. Router, expert and shared-expert adapters: the merged folder and the PEFT adapter (router, fused
#    experts and shared expert through target_parameters, docs/moe.md) both score as zen eval.
run experts "$experts"
export_as experts "$experts" hf || { cat "$work/experts-hf.log"; fail "export hf with expert adapters"; }
export_as experts "$experts" peft || { cat "$work/experts-peft.log"; fail "export peft with expert adapters"; }
"$python" - "$work/experts-peft/adapter_config.json" <<'PY'
import json, sys
adapter = json.load(open(sys.argv[1]))
params = adapter.get("target_parameters") or []
for want in ("mlp.gate.weight", "mlp.experts.gate_up_proj", "mlp.experts.down_proj", "mlp.shared_expert.up_proj.weight"):
    assert any(p.endswith(want) for p in params), (want, params)
print("peft target_parameters", params)
PY
compare experts "$work/experts-hf" "$work/experts-peft"
echo PASS
