#!/usr/bin/env bash
# Activation recomputation and the chunked cross entropy (docs/memory.md) through `zen train`:
#   1. train.recompute=full and =selective give `none`'s per-step losses and gradient norms (relative 1e-6,
#      3 steps, LoRA with dropout 0.1) under one process, tp=2, pp=2 (1f1b, 2 micro-batches in flight) and
#      ep=2 (Zen-Coder's MoE, whose aux_loss and expert_load must match too); full with recompute_layers=1;
#      bf16 autocast; tp=2 with the cross entropy in chunks of 48 tokens equals tp=2 unchunked.
#   2. The measured peak memory (metrics.jsonl peak_memory_bytes) at an activation-dominated shape, seq 512:
#      full <= 0.6 x none, selective < none.
#   3. Bad combinations exit 2 naming the key.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tiny=(data.source=demo model.layers=4 model.hidden=64 model.heads=4 model.kv_heads=2 model.head_dim=16
      model.ffn=128 model.vocab=512 optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=3 train.seq_len=64
      train.global_batch_size=8 train.micro_batch_size=2 train.threads=1 parallel.timeout_s=120
      lora.dropout=0.1)

run() {  # run NAME RECIPE RANKS OVERRIDES...
  local name=$1 recipe=configs/recipes/$2-lora.yaml ranks=$3
  shift 3
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" train "$recipe" "$@" output_dir="$work/$name" >"$work/$name.log" 2>&1 ||
    { echo "run $name failed:"; tail -20 "$work/$name.log"; exit 1; }
}

for mode in none full selective; do
  run "one-$mode" zen-nano 1 "${tiny[@]}" train.recompute=$mode
  run "tp2-$mode" zen-nano 2 "${tiny[@]}" train.recompute=$mode parallel.tensor=2
  run "pp2-$mode" zen-nano 2 "${tiny[@]}" train.recompute=$mode parallel.pipeline=2
  run "ep2-$mode" zen-coder 2 "${tiny[@]}" train.recompute=$mode parallel.expert=2 model.experts=4 model.top_k=2 \
    model.expert_ffn=32 model.shared_ffn=64 moe.z_loss_coef=0.001
done
run one-full-layers1 zen-nano 1 "${tiny[@]}" train.recompute=full train.recompute_layers=1
run pp2-full-layers1 zen-nano 2 "${tiny[@]}" train.recompute=full train.recompute_layers=1 parallel.pipeline=2
run bf16-none zen-nano 1 "${tiny[@]}" train.dtype=bf16
run bf16-full zen-nano 1 "${tiny[@]}" train.dtype=bf16 train.recompute=full
run tp2-chunked zen-nano 2 "${tiny[@]}" parallel.tensor=2 train.loss_chunk_tokens=48

# Activation-dominated: 8 layers of width 64 at 1024 tokens per micro-batch against ~0.2 M parameters.
memory=(data.source=demo model.layers=8 model.hidden=64 model.heads=4 model.kv_heads=2 model.head_dim=16
        model.ffn=128 model.vocab=512 train.max_steps=1 train.seq_len=512 train.global_batch_size=2
        train.micro_batch_size=2 train.threads=1 "~lora")
for mode in none full selective; do run "mem-$mode" zen-nano 1 "${memory[@]}" train.recompute=$mode; done

"$python" - "$work" "$src" <<'PY'
import json, os, sys
work, src = sys.argv[1:3]
sys.path.insert(0, os.path.join(src, "tests/cli/lib"))
import runs
def rows(run):
    return runs.rows(work, run)
failures = []
def compare(base_name, other_name, keys=("loss", "grad_norm")):
    base, other, worst = runs.compare(work, base_name, other_name, keys, 1e-6, failures, steps=3)
    print("%-16s = %-16s losses %s, worst relative difference %.2e" % (other_name, base_name, [round(r["loss"], 6) for r in other], worst))
for layout in ["one", "tp2", "pp2", "ep2"]:
    keys = ("loss", "grad_norm", "aux_loss", "expert_load") if layout == "ep2" else ("loss", "grad_norm")
    for mode in ["full", "selective"]:
        compare(layout + "-none", "%s-%s" % (layout, mode), keys)
compare("one-none", "one-full-layers1")
compare("pp2-none", "pp2-full-layers1")
compare("bf16-none", "bf16-full")
compare("tp2-none", "tp2-chunked")
assert rows("one-none")[-1]["loss"] < rows("one-none")[0]["loss"] * 1.5  # a sane run
peak = {m: rows("mem-" + m)[-1]["peak_memory_bytes"] for m in ["none", "full", "selective"]}
print("peak memory at seq 512: none %.1f MB, full %.1f MB (%.2f x), selective %.1f MB (%.3f x)" % (
    peak["none"] / 1e6, peak["full"] / 1e6, peak["full"] / peak["none"], peak["selective"] / 1e6,
    peak["selective"] / peak["none"]))
if not peak["full"] <= 0.6 * peak["none"]:
    failures.append("full recompute's peak %d is above 0.6 x none's %d" % (peak["full"], peak["none"]))
if not peak["selective"] < peak["none"]:
    failures.append("selective recompute's peak %d is not below none's %d" % (peak["selective"], peak["none"]))
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY

# expect_bad TEXT OVERRIDES...: zen train exits 2 with one line naming TEXT.
expect_bad() {
  local text=$1
  shift
  set +e
  err=$("$zen" train configs/recipes/zen-nano-lora.yaml "${tiny[@]}" "$@" output_dir="$work/bad" 2>&1 >/dev/null)
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || { echo "$*: expected exit 2, got $rc: $err"; exit 1; }
  printf '%s' "$err" | grep -qF -- "$text" || { echo "$*: message lacks \"$text\": $err"; exit 1; }
  echo "$*: exit 2, $err"
}
expect_bad train.recompute train.recompute=partial
expect_bad train.recompute_layers train.recompute_layers=2
expect_bad train.recompute_layers train.recompute=full train.recompute_layers=5
expect_bad train.loss_chunk_tokens train.loss_chunk_tokens=0
echo PASS
