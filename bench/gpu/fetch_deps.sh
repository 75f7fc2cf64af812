#!/usr/bin/env bash
# On the build machine (Debian 12): fills the git-ignored folder .gpu/ with what bench/gpu/run.sh needs on
# a GPU machine that has torch, NCCL, nvcc and CMake but none of our other libraries (../shared/GPU.md):
#   .gpu/debs/     the Debian runtime packages of Abseil, yaml-cpp, protobuf, ICU and OpenMPI (+ what OpenMPI
#                  loads), unpacked there with `dpkg -x` into /tmp, never into /;
#   .gpu/devdebs/  their -dev packages, for building zen there (run.sh's stage "build").
# The binaries travel as build/zen, build/tests/zen_unit_tests and build/tests/zen_mpi_tests (they link the
# same torch 2.11 cu130 wheel as the GPU machine's python3).
# usage: bash bench/gpu/fetch_deps.sh     then run the device call with carry [.gpu, build/zen, ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
mkdir -p .gpu/debs
packages=(libabsl20220623 libyaml-cpp0.7 libprotobuf32 libicu72
  libopenmpi3 openmpi-bin openmpi-common libhwloc15 libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7
  libpmix2 libfabric1 libibverbs1 ibverbs-providers librdmacm1 libpsm-infinipath1 libpsm2-2 libucx0 libnuma1
  libmunge2 libnl-3-200 libnl-route-3-200 libatomic1 libltdl7 libxnvctrl0)
(cd .gpu/debs && apt-get download "${packages[@]}" 2> /dev/null)
# The stage "build" compiles zen there too: headers, CMake files, protoc and the MPI compiler wrapper's data.
dev_packages=(libyaml-cpp-dev libabsl-dev libprotobuf-dev protobuf-compiler libprotoc32 libgtest-dev
  nlohmann-json3-dev libopenmpi-dev libicu-dev libhwloc-dev libevent-dev libevent-extra-2.1-7
  libevent-openssl-2.1-7 libssl-dev libssl3 libibverbs-dev libnuma-dev libpmix-dev zlib1g-dev libnl-3-dev libnl-route-3-dev)
mkdir -p .gpu/devdebs
(cd .gpu/devdebs && apt-get download "${dev_packages[@]}" 2> /dev/null)
git archive --format=tar -o .gpu/src.tar HEAD  # what stage "build" compiles
du -sh .gpu/debs .gpu/devdebs .gpu/src.tar
