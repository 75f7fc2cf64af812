#!/usr/bin/env bash
# Pipeline parallelism under mpirun:
#   1. pp=2 (1F1B and GPipe), pp=4, pp=2 × tp=2 and pp=2 × dp=2 give the same per-step losses and gradient
#      norms as one process (relative 1e-5, fp32, 5 steps), for LoRA and for full fine-tuning (the tied
#      embedding's two copies, on the first and last stage, stay one weight); each stage holds only its
#      layers (run.json counts), and metrics.jsonl carries a bubble fraction in [0, 1). Also pp=2 under bf16.
#   2. Activation memory: as micro-batches per step grow from 2 to 8, each stage's measured peak tensor
#      memory stays flat under 1F1B and grows under GPipe (the control that shows the measure can see it).
#   3. Bad layouts exit 2 with one message naming the key.
set -euo pipefail
zen=$1 src=$2 python=$3
cd "$src"
source "$src/tests/cli/lib/mpi.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recipe=configs/recipes/zen-nano-lora.yaml
source "$src/tests/cli/lib/nano_tiny.sh"
tiny=(data.source=demo model.layers=4 "${nano_tiny[@]}" optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=5
      train.seq_len=64 train.global_batch_size=8 train.micro_batch_size=2 train.threads=1
      parallel.timeout_s=120)

run() {  # run NAME RANKS OVERRIDES...
  local name=$1 ranks=$2
  shift 2
  local launcher=("${mpi[@]}" -np "$ranks")
  [ "$ranks" = 1 ] && launcher=()
  "${launcher[@]}" "$zen" train "$recipe" "${tiny[@]}" "$@" output_dir="$work/$name" >"$work/$name.log" 2>&1 ||
    { echo "run $name failed:"; tail -20 "$work/$name.log"; exit 1; }
}

for mode in lora full; do
  extra=()
  [ "$mode" = full ] && extra=("~lora")
  run "$mode-one" 1 "${extra[@]}"
  run "$mode-pp2" 2 "${extra[@]}" parallel.pipeline=2
  run "$mode-pp2gpipe" 2 "${extra[@]}" parallel.pipeline=2 parallel.schedule=gpipe
  run "$mode-pp4" 4 "${extra[@]}" parallel.pipeline=4
  run "$mode-pp2tp2" 4 "${extra[@]}" parallel.pipeline=2 parallel.tensor=2
  run "$mode-pp2dp2" 4 "${extra[@]}" parallel.pipeline=2
  run "$mode-pp2split31" 2 "${extra[@]}" parallel.pipeline=2 "parallel.stage_layers=[3,1]"
done

# bf16 autocast: the stages exchange the fp32 residual stream, so the split changes nothing either.
run bf16-one 1 train.dtype=bf16
run bf16-pp2 2 train.dtype=bf16 parallel.pipeline=2

for schedule in 1f1b gpipe; do
  for batch in 4 16; do  # 2 and 8 micro-batches of 2 rows
    run "mem-$schedule-$batch" 2 parallel.pipeline=2 parallel.schedule=$schedule train.global_batch_size=$batch \
      train.seq_len=128 train.max_steps=2
  done
done

"$python" - "$work" "$src" <<'PY'
import json, os, sys
work, src = sys.argv[1:3]
sys.path.insert(0, os.path.join(src, "tests/cli/lib"))
import runs
def rows(run):
    return runs.rows(work, run)
failures = []
layouts = [("pp2", 2, 2, 1), ("pp2gpipe", 2, 2, 1), ("pp4", 4, 4, 1), ("pp2tp2", 4, 2, 2), ("pp2dp2", 4, 2, 1),
           ("pp2split31", 2, 2, 1)]
stage_layers = {"pp2": [[0, 2], [2, 4]], "pp4": [[0, 1], [1, 2], [2, 3], [3, 4]], "pp2split31": [[0, 3], [3, 4]]}
for mode in ["lora", "full"]:
    single = json.load(open(os.path.join(work, mode + "-one", "run.json")))["ranks"][0]
    for layout, world, pp, tp in layouts:
        base, other, worst = runs.compare(work, mode + "-one", mode + "-" + layout, ("loss", "grad_norm"), 1e-5, failures, steps=5)
        for b in other:
            assert 0 <= b["bubble"] < 1, (mode, layout, b["bubble"])
        print("%-4s %-8s losses %s, worst relative difference %.2e, bubble %s" % (
            mode, layout, [round(r["loss"], 6) for r in other], worst, [round(r["bubble"], 2) for r in other]))
        run = json.load(open(os.path.join(work, mode + "-" + layout, "run.json")))
        assert run["layout"]["pp"] == pp and run["layout"]["tp"] == tp, run["layout"]
        # Each rank holds only its stage: less than the whole model; the stages of one replica (tp rank 0,
        # dp rank 0) together hold every parameter once, plus the tied embedding's second copy.
        for r in run["ranks"]:
            assert r["params"] < single["params"], ("a stage must hold less than the whole model", r, single)
        stages = [r for r in run["ranks"] if r["dp"] == 0 and r["tp"] == 0]
        held = sum(r["params"] for r in stages)
        embedding = 512 * 64
        if tp == 1:
            assert held == single["params"] + embedding, (layout, held, single["params"])
        print("     %-8s params per stage %s (one process %d; the tied embedding is held twice)" % (
            layout, [r["params"] for r in stages], single["params"]))
        if layout in stage_layers:
            assert [r["layers"] for r in stages] == stage_layers[layout], (layout, [r["layers"] for r in stages])
        if layout in ("pp2", "pp4") and mode == "lora":
            assert other[-1]["stage_peak_in_flight"] == list(range(pp, 0, -1)), other[-1]["stage_peak_in_flight"]

runs.compare(work, "bf16-one", "bf16-pp2", ("loss", "grad_norm"), 1e-5, failures)
print("bf16 pp2      losses %s" % [round(r["loss"], 6) for r in rows("bf16-pp2")])

peaks = {(s, b): rows("mem-%s-%d" % (s, b))[-1]["stage_peak_memory_bytes"] for s in ["1f1b", "gpipe"] for b in [4, 16]}
for s in ["1f1b", "gpipe"]:
    print("peak tensor memory per stage, %-5s: 2 micro-batches %s, 8 micro-batches %s" % (s, peaks[(s, 4)], peaks[(s, 16)]))
for stage in range(2):
    flat = peaks[("1f1b", 16)][stage] - peaks[("1f1b", 4)][stage]
    grows = peaks[("gpipe", 16)][stage] - peaks[("gpipe", 4)][stage]
    if not flat < 0.05 * peaks[("1f1b", 4)][stage]:
        failures.append("1F1B stage %d: peak memory grew by %d bytes from 2 to 8 micro-batches" % (stage, flat))
    if not grows > 10 * max(flat, 1):
        failures.append("GPipe stage %d: peak memory grew only %d bytes (1F1B: %d)" % (stage, grows, flat))
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY

expect_bad() {  # expect_bad WHAT RANKS OVERRIDES...: exit 2 and a message naming WHAT
  local what=$1 ranks=$2 rc=0
  shift 2
  "${mpi[@]}" -np "$ranks" "$zen" train "$recipe" "${tiny[@]}" "$@" output_dir="$work/bad" >"$work/bad.log" 2>&1 || rc=$?
  [ "$rc" = 2 ] || { echo "expected exit 2 for $*, got $rc"; cat "$work/bad.log"; exit 1; }
  grep -q "$what" "$work/bad.log" || { echo "no message naming $what for $*"; cat "$work/bad.log"; exit 1; }
}
expect_bad "model.layers (3) is fewer than the pipeline stages" 4 parallel.pipeline=4 model.layers=3
expect_bad "1F1B needs at least one per stage" 4 parallel.pipeline=4 train.global_batch_size=2 train.micro_batch_size=1
expect_bad "parallel.stage_layers" 2 parallel.pipeline=2 "parallel.stage_layers=[1,2]"
expect_bad "parallel.schedule" 2 parallel.pipeline=2 parallel.schedule=zigzag
echo PASS
