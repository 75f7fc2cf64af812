#!/usr/bin/env bash
# The GPU check, one prepared script for a GPU machine lent for minutes (../shared/GPU.md, docs/gpu.md).
# Every stage writes its log and one JSON line into REPORT and the next stage runs whatever happened:
#   env          the card, driver, torch, NCCL and CPU
#   unit         the GoogleTest units (sharded over the cores) with the binaries carried from the build machine
#   mpi          the communicator tests under mpirun: NCCL's collectives against MPI's on the same inputs
#   cuda_vs_cpu  tiny dense (LoRA, full) and MoE runs of `zen train` on CUDA equal the same runs on the CPU
#   bench        Zen-Nano at the guide's shape, bf16 autocast (fp32 master weights), seq 2048, full fine-tune
#                and LoRA r8: zen against transformers (+ peft) in the same run, alternating, ROUNDS times
#   report       report.md: the tables with tokens/s, MFU against the card's dense bf16 peak, peak memory
# The machine has torch 2.11 cu130, NCCL, nvcc and CMake but not our other libraries: bench/gpu/fetch_deps.sh
# (on the build machine) puts their Debian packages in .gpu/debs; here they unpack into /tmp, never into /.
#
# usage (device machine, repo root): bash bench/gpu/run.sh        REPORT defaults to $OUT or /tmp/zen-gpu
#        STAGES="env bench report" ROUNDS=1 STEPS=6 bash bench/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
REPORT=${REPORT:-${OUT:-/tmp/zen-gpu}}
STAGES=${STAGES:-"env unit mpi cuda_vs_cpu bench report"}
ROUNDS=${ROUNDS:-2}
STEPS=${STEPS:-6}
mkdir -p "$REPORT"
RESULTS=$REPORT/results.jsonl
START=$(date +%s)

note() { echo "[gpu $(( $(date +%s) - START ))s] $*" | tee -a "$REPORT/summary.txt"; }
emit() { echo "$1" >> "$RESULTS"; }

# The binaries were built on the build machine at /work/main with /work/main/.venv's torch: make those paths
# lead to this checkout and this machine's python3 (same torch 2.11.0+cu130 wheel) so their RUNPATHs and the
# paths compiled into the tests (ZEN_SOURCE_DIR, ZEN_PYTHON, ZEN_BINARY) resolve.
prepare_paths() {
  PY=$(command -v python3)
  SITE=$("$PY" -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')
  if [ "$(pwd -P)" != /work/main ] && [ ! -e /work/main ]; then mkdir -p /work && ln -s "$(pwd -P)" /work/main; fi
  if [ ! -e .venv ]; then  # never over a real venv (its bin/python is a link into the system python)
    mkdir -p .venv/bin .venv/lib/python3.11
    printf '#!/bin/sh\nexec %s "$@"\n' "$PY" > .venv/bin/python && chmod +x .venv/bin/python
    ln -s "$SITE" .venv/lib/python3.11/site-packages
  fi
}

# Abseil, yaml-cpp, protobuf, ICU and OpenMPI from .gpu/debs into /tmp/zen-deps; OpenMPI relocated there.
prepare_libraries() {
  local deps=/tmp/zen-deps
  if [ ! -d $deps/usr ]; then
    for deb in .gpu/debs/*.deb; do dpkg -x "$deb" $deps; done
  fi
  local nv=$SITE/nvidia
  export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:$deps/usr/lib/x86_64-linux-gnu/openmpi/lib:$SITE/torch/lib:$nv/cu13/lib:$nv/nccl/lib:$nv/cusparselt/lib:$nv/nvshmem/lib:$nv/cudnn/lib:${LD_LIBRARY_PATH:-}
  export OPAL_PREFIX=$deps/usr PATH=$deps/usr/bin:$PATH
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
  MPIRUN=$deps/usr/bin/orterun
}

stage_env() {
  nvidia-smi > "$REPORT/nvidia-smi.txt" 2>&1
  "$PY" - > "$REPORT/env.json" <<'PY'
import json, os, platform, torch
p = torch.cuda.get_device_properties(0)
print(json.dumps({"gpu": torch.cuda.get_device_name(0), "sm_count": p.multi_processor_count,
  "memory_gib": round(p.total_memory / 2**30, 1), "capability": "%d.%d" % (p.major, p.minor),
  "torch": torch.__version__, "cuda": torch.version.cuda, "nccl": ".".join(map(str, torch.cuda.nccl.version())),
  "cudnn": torch.backends.cudnn.version(), "cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
  "flash_sdp": torch.backends.cuda.flash_sdp_enabled()}))
PY
  cat "$REPORT/env.json"
  # The card's dense bf16 matmul rate as torch reaches it (8192^3, ten timed after warm-up): the ceiling MFU meets.
  "$PY" - > "$REPORT/matmul.json" <<'PY'
import json, torch
n = 8192
a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16); b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
for _ in range(3): a @ b
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
torch.cuda.synchronize(); s.record()
for _ in range(10): a @ b
e.record(); torch.cuda.synchronize()
print(json.dumps({"bf16_matmul_tflops": 10 * 2 * n**3 / (s.elapsed_time(e) / 1e3) / 1e12}))
PY
  cat "$REPORT/matmul.json"
  emit "{\"stage\": \"env\", \"env\": $(cat "$REPORT/env.json"), \"matmul\": $(cat "$REPORT/matmul.json")}"
}

stage_unit() {
  local shards=12 i failed=0
  for i in $(seq 0 $((shards - 1))); do
    GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i OMP_NUM_THREADS=1 timeout 300 \
      build/tests/zen_unit_tests --gtest_brief=1 --gtest_color=no > "$REPORT/unit-$i.log" 2>&1 &
  done
  for i in $(seq 0 $((shards - 1))); do wait -n || failed=$((failed + 1)); done
  cat "$REPORT"/unit-*.log > "$REPORT/unit.log"; rm -f "$REPORT"/unit-*.log
  local passed skipped
  passed=$(grep -h '\[  PASSED  \]' "$REPORT/unit.log" | awk '{s += $4} END {print s + 0}')
  skipped=$(grep -h '\[  SKIPPED \] [0-9]' "$REPORT/unit.log" | awk '{s += $4} END {print s + 0}')
  note "unit: $passed passed, ${skipped:-0} skipped, $failed shard(s) failed"
  grep -h '\[  FAILED  \]' "$REPORT/unit.log" | sort -u | tee -a "$REPORT/summary.txt"
  emit "{\"stage\": \"unit\", \"passed\": ${passed:-0}, \"skipped\": ${skipped:-0}, \"failed_shards\": $failed}"
}

stage_mpi() {
  local np rc filter
  for np in 1 2; do
    filter='*'
    [ $np = 1 ] && filter='Nccl*'  # the MPI tests want 2 or more ranks; NCCL on one GPU takes world size 1
    timeout 120 "$MPIRUN" --oversubscribe --bind-to none -np $np -x OMP_NUM_THREADS=1 -x LD_LIBRARY_PATH \
      build/tests/zen_mpi_tests --gtest_color=no --gtest_filter="$filter" > "$REPORT/mpi-np$np.log" 2>&1
    rc=$?
    note "mpi np=$np: exit $rc; $(grep -c '^\[       OK \]' "$REPORT/mpi-np$np.log") ok; NCCL: $(grep -A1 'RUN.*NcclCommunicator' "$REPORT/mpi-np$np.log" | tail -1)"
    grep -h 'Skipped\|SKIPPED\|FAILED\|skip' "$REPORT/mpi-np$np.log" | head -5 >> "$REPORT/summary.txt"
    emit "{\"stage\": \"mpi\", \"np\": $np, \"exit\": $rc}"
  done
}

TINY=(data.source=demo model.layers=2 model.hidden=128 model.heads=4 model.kv_heads=2 model.head_dim=32
  model.ffn=256 model.vocab=512 optim.lr=2e-3 optim.warmup_steps=0 train.max_steps=5 train.seq_len=128
  train.global_batch_size=8 train.micro_batch_size=4 train.threads=4)
MOE=(model.experts=4 model.top_k=2 model.expert_ffn=64)

zen_train() {  # zen_train NAME RECIPE OVERRIDES...: one run; its log and metrics in $REPORT/runs/NAME
  local name=$1 recipe=$2; shift 2
  mkdir -p "$REPORT/runs"
  rm -rf "/tmp/zen-gpu-runs/$name"
  timeout 240 build/zen train "configs/recipes/$recipe" "$@" output_dir="/tmp/zen-gpu-runs/$name" \
    > "$REPORT/runs/$name.log" 2>&1
  local rc=$?
  cp "/tmp/zen-gpu-runs/$name/metrics.jsonl" "$REPORT/runs/$name.metrics.jsonl" 2> /dev/null
  [ $rc -eq 0 ] || { note "zen train $name failed (exit $rc):"; tail -5 "$REPORT/runs/$name.log" | tee -a "$REPORT/summary.txt"; }
  return $rc
}

stage_cuda_vs_cpu() {
  local pairs=("dense-lora zen-nano-lora.yaml" "dense-full zen-nano-lora.yaml ~lora" "moe-lora zen-coder-lora.yaml ${MOE[*]}")
  local pair name recipe extra device
  for pair in "${pairs[@]}"; do
    read -r name recipe extra <<< "$pair"
    for device in cpu cuda; do
      # shellcheck disable=SC2086
      zen_train "$name-$device-fp32" "$recipe" "${TINY[@]}" $extra train.device=$device train.dtype=fp32
    done
    zen_train "$name-cuda-bf16" "$recipe" "${TINY[@]}" $extra train.device=cuda train.dtype=bf16
  done
  "$PY" - "$REPORT" <<'PY' | tee -a "$REPORT/summary.txt"
import json, os, sys
report = sys.argv[1]
def losses(name):
    path = os.path.join(report, "runs", name + ".metrics.jsonl")
    return [json.loads(l)["loss"] for l in open(path)] if os.path.exists(path) else None
for name in ["dense-lora", "dense-full", "moe-lora"]:
    cpu, cuda, bf16 = losses(name + "-cpu-fp32"), losses(name + "-cuda-fp32"), losses(name + "-cuda-bf16")
    row = {"stage": "cuda_vs_cpu", "run": name, "cpu_fp32": cpu, "cuda_fp32": cuda, "cuda_bf16": bf16}
    if cpu and cuda and len(cpu) == len(cuda):
        row["max_rel_diff_fp32"] = max(abs(a - b) / abs(a) for a, b in zip(cpu, cuda))
        row["equal_fp32"] = row["max_rel_diff_fp32"] < 1e-4
    if cpu and bf16 and len(cpu) == len(bf16):
        row["max_rel_diff_bf16"] = max(abs(a - b) / abs(a) for a, b in zip(cpu, bf16))
    print(json.dumps(row))
    with open(os.path.join(report, "results.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
PY
}

# Zen-Nano (configs/models/zen-nano.yaml) at seq 2048, micro 4, global 16 (4 micro-batches a step).
NANO=(data.source=demo data.block_causal=false train.device=cuda train.dtype=bf16 train.seq_len=2048
  train.micro_batch_size=4 train.global_batch_size=16 optim.warmup_steps=0 checkpoint.interval=0)
HF=(--seq 2048 --micro 4 --global-batch 16 --layers 24 --hidden 1024 --heads 16 --kv-heads 16 --head-dim 64
  --ffn 2816 --vocab 151936)

stage_bench() {
  local round mode
  for round in $(seq "$ROUNDS"); do
    for mode in lora full; do
      local zen_extra=() hf_extra=(--lora-rank 8)
      [ $mode = full ] && zen_extra=("~lora") && hf_extra=(--full)
      zen_train "nano-$mode-zen-r$round" zen-nano-lora.yaml "${NANO[@]}" "${zen_extra[@]}" train.max_steps="$STEPS"
      emit "{\"stage\": \"bench\", \"impl\": \"zen\", \"mode\": \"$mode\", \"round\": $round, \"metrics\": \"runs/nano-$mode-zen-r$round.metrics.jsonl\"}"
      timeout 240 "$PY" bench/gpu/hf_train.py "${HF[@]}" "${hf_extra[@]}" --steps "$STEPS" \
        > "$REPORT/runs/nano-$mode-hf-r$round.json" 2> "$REPORT/runs/nano-$mode-hf-r$round.log" ||
        { note "hf $mode failed:"; tail -5 "$REPORT/runs/nano-$mode-hf-r$round.log" | tee -a "$REPORT/summary.txt"; }
      emit "{\"stage\": \"bench\", \"impl\": \"hf\", \"mode\": \"$mode\", \"round\": $round, \"result\": \"runs/nano-$mode-hf-r$round.json\"}"
      note "bench $mode round $round done"
    done
  done
}

# Builds zen here against this machine's torch (python3's wheel) and nvcc, with the -dev packages of
# .gpu/devdebs, from the commit in .gpu/src.tar; then trains one tiny run with it: its losses must equal
# the carried binary's on CUDA.
stage_build() {
  for deb in .gpu/devdebs/*.deb; do dpkg -x "$deb" /tmp/zen-deps; done
  local deps=/tmp/zen-deps/usr build=/tmp/zen-gpu-build src=/tmp/zen-gpu-src rc
  # The committed sources (.gpu/src.tar, `git archive`), not a working tree that may hold unfinished edits.
  mkdir -p $src && tar -xf .gpu/src.tar -C $src
  export CUDACXX=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  cmake -S $src -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEN_PYTHON="$PY" -DCMAKE_PREFIX_PATH=$deps \
    -DMPI_C_COMPILER=$deps/bin/mpicc.openmpi -DProtobuf_PROTOC_EXECUTABLE=$deps/bin/protoc -DBUILD_TESTING=OFF \
    > "$REPORT/build-configure.log" 2>&1
  rc=$?
  note "build: cmake configure exit $rc ($(grep -m1 -o 'CUDA.*found.*' "$REPORT/build-configure.log"))"
  [ $rc -eq 0 ] || { tail -20 "$REPORT/build-configure.log" | tee -a "$REPORT/summary.txt"; return; }
  local t0=$(date +%s)
  timeout "${BUILD_TIMEOUT:-240}" ninja -C $build zen > "$REPORT/build.log" 2>&1
  rc=$?
  note "build: ninja zen exit $rc in $(( $(date +%s) - t0 ))s ($(grep -c 'Building CXX' "$REPORT/build.log") compiled)"
  [ $rc -eq 0 ] || { grep -m5 -A3 'error' "$REPORT/build.log" | tee -a "$REPORT/summary.txt"; return; }
  timeout 120 $build/zen train configs/recipes/zen-nano-lora.yaml "${TINY[@]}" train.device=cuda train.dtype=fp32 \
    output_dir=/tmp/zen-gpu-runs/built-here > "$REPORT/build-train.log" 2>&1
  "$PY" - "$REPORT" <<'PY' | tee -a "$REPORT/summary.txt"
import json, os, sys
report = sys.argv[1]
def losses(path):
    return [json.loads(l)["loss"] for l in open(path)] if os.path.exists(path) else None
here = losses("/tmp/zen-gpu-runs/built-here/metrics.jsonl")
carried = losses(os.path.join(report, "runs", "dense-lora-cuda-fp32.metrics.jsonl"))
row = {"stage": "build", "built_here_losses": here, "carried_losses": carried,
       "equal": here is not None and here == carried}
print(json.dumps(row))
open(os.path.join(report, "results.jsonl"), "a").write(json.dumps(row) + "\n")
PY
}

stage_report() {
  "$PY" bench/gpu/report.py "$REPORT" > "$REPORT/report.md" 2> "$REPORT/report.err"
  cat "$REPORT/report.md" "$REPORT/report.err"
}

prepare_paths
prepare_libraries
for stage in $STAGES; do
  note "stage $stage"
  "stage_$stage"
done
note "done"
# A device call brings back at most 8 files: summary.txt, results.jsonl and report.md stay; the rest is packed.
(cd "$REPORT" && tar -czf logs.tgz --exclude=summary.txt --exclude=results.jsonl --exclude=report.md \
  --exclude=logs.tgz . && find . -mindepth 1 -not -name summary.txt -not -name results.jsonl \
  -not -name report.md -not -name logs.tgz -delete)
