#!/usr/bin/env bash
# Installs what zen needs on Debian 12 (apt packages and a git-ignored Python venv with torch and the test
# oracles) and builds build/zen. Safe to re-run: it installs only what is missing and builds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(build-essential cmake ninja-build ccache pkg-config python3-venv git
  libopenmpi-dev openmpi-bin libyaml-cpp-dev libabsl-dev libprotobuf-dev protobuf-compiler
  libgtest-dev nlohmann-json3-dev libicu-dev libssl-dev libpng-dev libjpeg-dev zlib1g-dev libzstd-dev iproute2)
missing=()
# A one-node SLURM cluster for the launch tests (tests/cli/lib/slurm_cluster.sh), with its PMIx plugin.
apt_packages+=(slurmctld slurmd slurm-client munge)
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=$([ "$(id -u)" -eq 0 ] && echo "" || echo sudo)
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" > /dev/null
fi

# The CUDA-enabled libtorch's CMake config needs a CUDA toolkit of torch's version: an installed one (nvcc
# on PATH or in /usr/local/cuda) when present, else the NVIDIA wheels requirements.txt puts in the venv
# (cmake/CudaToolkit.cmake chooses; docs/build.md).
if ! command -v nvcc > /dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
if [ ! -f "$stamp" ] || ! sha256sum --check --status "$stamp" 2> /dev/null; then
  echo "setup: installing Python packages (torch $(grep '^torch==' requirements.txt | cut -d= -f3))"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  sha256sum requirements.txt > "$stamp"
fi

# libarrow.so / libparquet.so links beside the wheel's versioned libraries, for CMake to find (data/CMakeLists.txt).
.venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"

# ccache shares objects between clones (paths relative to the checkout) and caches PCH users too.
export CCACHE_BASEDIR="$PWD" CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j "$(nproc)"
echo "setup: built build/zen; CUDA from the $(sed -n 's/^ZEN_CUDA_SOURCE:INTERNAL=//p' build/CMakeCache.txt)"
