#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: GoogleTest suites, Hugging Face oracle tests and the
# command-line tests, through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Multi-rank tests run mpirun as root in containers and CI.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
