#!/usr/bin/env bash
# Set-up on a machine without a CUDA toolkit (a laptop, a CPU box, a login node with another CUDA): a mount
# namespace hides every installed toolkit (/usr/local/cuda*, /opt/cuda*), and nvcc and the CUDA headers and
# libraries wherever else they lie (any file named as one in NVIDIA's toolkit wheels, in the PATH folders
# and the system include and library folders), then configures zen in a scratch build folder as
# scripts/setup.sh does, with an nvcc 12.4 on PATH. Proves: the namespace shows no toolkit, configure passes
# over the other nvcc and succeeds with the CUDA pieces from the venv's NVIDIA wheels at torch's CUDA
# version and says so, nvcc from the wheels compiled and linked CMake's and torch's CUDA probes, and the
# CUDA/NCCL path (parallel/nccl_communicator.cpp, linked with the wheels' libcudart and libnccl) is in the
# build; a program against those headers and libraries compiles, links and runs. Where a mount namespace cannot be made it prints SKIPPED and exits 0.
set -euo pipefail
zen=$1 src=$2 python=$3

skip() { echo "SKIPPED: $*"; exit 0; }
fail() { echo "FAIL: $*"; exit 1; }

# names_of_toolkit_files ROOT...: the toolkit's programs and the names NVIDIA's toolkit wheels install
# (bin/, include/, nvvm/ entries; lib/ libraries as their stem, libcudart.so.13 -> libcudart), one a line.
names_of_toolkit_files() {
  local root
  # The toolkit's programs, whether or not the venv has the wheels that ship them.
  printf '%s\n' nvcc nvcc.profile ptxas nvlink fatbinary cudafe++ bin2c cicc nvdisasm cuobjdump cu++filt \
    __nvcc_device_query cuda_runtime.h cuda.h libcudart
  for root in "$@"; do
    ls -A "$root/bin" "$root/include" "$root/nvvm" 2> /dev/null | grep -v -e '^$' -e ':$' || true
    ls -A "$root/lib" 2> /dev/null | grep '^lib' | sed -E 's/\.so(\..*)?$//; s/\.a$//'
  done | sort -u
}

# hide_toolkit_files DIR NAMES_FILE WORK: an overlay over DIR that leaves out every entry named in
# NAMES_FILE (by name, or by stem for libraries); DIR is left alone when it has none.
hide_toolkit_files() {
  local dir=$1 names=$2 work=$3 entry stem whiteouts
  whiteouts=$work/whiteouts$(echo "$dir" | tr / _)
  mkdir -p "$whiteouts"
  for entry in $(ls -A "$dir"); do
    stem=$(echo "$entry" | sed -E 's/\.so(\..*)?$//; s/\.a$//')
    if grep -qxF -e "$entry" -e "$stem" "$names"; then mknod "$whiteouts/$entry" c 0 0; fi
  done
  if [ -n "$(ls -A "$whiteouts")" ]; then
    mount -t overlay overlay -o "lowerdir=$whiteouts:$dir" "$dir" 2> "$work/overlay.err" \
      || skip "cannot overlay $dir to hide its CUDA files: $(cat "$work/overlay.err")"
    echo "hid $(ls -A "$whiteouts" | wc -l) entries of $dir: $(ls -A "$whiteouts" | head -8 | tr '\n' ' ')..."
  fi
}

# hide_toolkits WORK: in a new mount namespace, hides every CUDA toolkit and checks that none is left.
hide_toolkits() {
  local work=$1 major wheel_roots dir d
  mount --make-rprivate /
  major=$("$python" -c 'import torch; print(torch.version.cuda.split(".")[0])')
  wheel_roots=$("$python" -c "import nvidia.cu$major as m; print(' '.join(m.__path__))")
  names_of_toolkit_files $wheel_roots > "$work/names"

  for dir in /usr/local/cuda* /opt/cuda* /usr/lib/cuda /usr/lib/nvidia-cuda-toolkit; do
    d=$(readlink -f "$dir" || true)
    [ -d "$d" ] || continue
    grep -qxF "$d" "$work/hidden" 2> /dev/null && continue
    echo "$d" >> "$work/hidden"
    mount -t tmpfs -o ro tmpfs "$d"
    echo "hid $dir"
  done
  for dir in $(echo "$PATH" | tr : ' ') /usr/bin /usr/local/bin /usr/include /usr/local/include /usr/lib \
             /usr/lib64 /usr/lib/x86_64-linux-gnu /usr/local/lib /usr/local/lib64; do
    d=$(readlink -f "$dir" || true)
    [ -d "$d" ] || continue
    case $d in "$src"*|"$(dirname "$(dirname "$python")")"*|"$work"*) continue ;; esac
    grep -qxF "$d" "$work/hidden" 2> /dev/null && continue
    echo "$d" >> "$work/hidden"
    hide_toolkit_files "$d" "$work/names" "$work"
  done

  # The namespace looks like a machine without a toolkit.
  hash -r
  if command -v nvcc > /dev/null; then fail "nvcc still visible at $(command -v nvcc)"; fi
  for d in /usr/include /usr/local/include /usr/local/cuda/include /usr/local/cuda-$major*/include; do
    [ ! -e "$d/cuda_runtime.h" ] || fail "$d/cuda_runtime.h still visible"
  done
  for d in /usr/lib /usr/lib64 /usr/lib/x86_64-linux-gnu /usr/local/lib /usr/local/lib64 /usr/local/cuda/lib64; do
    [ -z "$(ls "$d"/libcudart.so* 2> /dev/null)" ] || fail "libcudart still visible in $d"
  done
}

# configure_and_check WORK: configures as scripts/setup.sh does, with no CUDA hint in the environment, and
# checks where its CUDA came from and that the CUDA/NCCL path is built.
configure_and_check() {
  local work=$1 build=$1/build
  # A login node's other CUDA: an nvcc of another version on PATH, which configure must pass over.
  mkdir -p "$work/other-cuda/bin"
  printf '#!/bin/sh\necho "Cuda compilation tools, release 12.4, V12.4.131"\n' > "$work/other-cuda/bin/nvcc"
  chmod +x "$work/other-cuda/bin/nvcc"
  if ! env -u CUDA_HOME -u CUDA_PATH -u CUDACXX -u CUDAToolkit_ROOT PATH="$work/other-cuda/bin:$PATH" \
      cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEN_PYTHON="$python" \
      > "$work/configure.log" 2>&1; then
    tail -40 "$work/configure.log"
    fail "configure without a CUDA toolkit failed (log above)"
  fi
  grep -E "zen: |PyTorch: CUDA|CUDA compiler ABI|Header version" "$work/configure.log"
  grep -qF "zen: ignoring $work/other-cuda/bin/nvcc" "$work/configure.log" || fail "configure did not pass over nvcc 12.4"
  local cuda_version
  cuda_version=$("$python" -c 'import torch; print(torch.version.cuda)')
  grep -qF "zen: CUDA $cuda_version from the venv's NVIDIA wheels ($build/cuda)" "$work/configure.log" \
    || fail "configure did not report the venv's wheels as its CUDA"
  grep -qxE "CMAKE_CUDA_COMPILER:[A-Z]+=$build/cuda/bin/nvcc" "$build/CMakeCache.txt" \
    || fail "CMAKE_CUDA_COMPILER is not the wheels' nvcc: $(grep '^CMAKE_CUDA_COMPILER:' "$build/CMakeCache.txt")"
  grep -qxF "CUDA_VERSION:STRING=$cuda_version" "$build/CMakeCache.txt" || fail "FindCUDA did not find CUDA $cuda_version"
  # enable_language(CUDA) compiled and linked CMake's ABI probe with the wheels' nvcc, cicc, ptxas, cudart.
  grep -qF "Detecting CUDA compiler ABI info - done" "$work/configure.log" || fail "nvcc from the wheels did not build CMake's probe"
  # torch's try_run compiled, linked and ran a program reading CUDA_VERSION from the wheels' <cuda.h>.
  grep -qF "PyTorch: Header version is: $cuda_version" "$work/configure.log" || fail "torch's CUDA header probe did not run"

  # The CUDA/NCCL path is in the build: nccl_communicator.cpp compiled, zen linked with the wheels' libraries.
  grep -q "nccl_communicator.cpp.o:" "$build/build.ninja" || fail "parallel/nccl_communicator.cpp is not built"
  # Ninja writes paths inside the build folder relative to it.
  grep -qE "(^| |$build/)cuda/lib(64)?/libcudart\.so" "$build/build.ninja" || fail "nothing links the wheels' libcudart"
  grep -q "nvidia/nccl/lib/libnccl.so" "$build/build.ninja" || fail "nothing links the venv's libnccl"

  # What nccl_communicator.cpp includes and links, from the same folders: compiles, links and runs.
  local nccl_root
  nccl_root=$("$python" -c 'import nvidia.nccl as m; print(list(m.__path__)[0])')
  cat > "$work/probe.cpp" <<'EOF'
#include <cuda_runtime.h>
#include <nccl.h>
#include <cstdio>
int main() {
  int cuda = 0, nccl = 0;
  if (cudaRuntimeGetVersion(&cuda) != cudaSuccess || ncclGetVersion(&nccl) != ncclSuccess) return 1;
  std::printf("cudart %d nccl %d\n", cuda, nccl);
}
EOF
  g++ -std=c++17 -o "$work/probe" "$work/probe.cpp" -I"$build/cuda/include" -I"$nccl_root/include" \
    -L"$build/cuda/lib64" -L"$nccl_root/lib" -lcudart -l:libnccl.so.2 \
    -Wl,-rpath,"$build/cuda/lib64:$nccl_root/lib" || fail "a CUDA/NCCL program does not build against the wheels"
  local versions
  versions=$("$work/probe") || fail "the CUDA/NCCL probe did not run"
  echo "probe: $versions"
  local want=$(( ${cuda_version%%.*} * 1000 + ${cuda_version##*.} * 10 ))
  [ "$(echo "$versions" | cut -d' ' -f2)" = "$want" ] || fail "cudart from the wheels is not CUDA $cuda_version: $versions"
  echo "PASS: configured without a CUDA toolkit, CUDA $cuda_version from the venv's wheels, CUDA/NCCL path in the build"
}

# By hand, the whole set-up of a fresh clone without a toolkit (docs/build.md):
#   bash tests/cli/setup_without_cuda.sh - CLONE PYTHON_WITH_THE_WHEELS run bash scripts/setup.sh
case ${4:-} in
  inside) hide_toolkits "$5"; configure_and_check "$5"; exit 0 ;;
  inside-run) hide_toolkits "$5"; shift 5; cd "$src"; exec env -u CUDA_HOME -u CUDA_PATH -u CUDACXX "$@" ;;
esac

[ "$(id -u)" -eq 0 ] || skip "mount namespaces and overlays need root (uid $(id -u))"
command -v unshare > /dev/null || skip "no unshare command (util-linux)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unshare -m true 2> "$work/unshare.err" || skip "unshare -m failed: $(cat "$work/unshare.err")"
if [ "${4:-}" = run ]; then
  shift 4
  unshare -m bash "$0" "$zen" "$src" "$python" inside-run "$work" "$@"
else
  unshare -m bash "$0" "$zen" "$src" "$python" inside "$work"
fi
