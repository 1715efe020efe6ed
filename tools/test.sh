#!/usr/bin/env bash
# Configure, build and run every test (ctest). GPU tests run when a CUDA device is present and report
# "skipped: no CUDA device" otherwise. CUDA code is compiled for this machine's GPU, or for sm_75 alone
# when there is none (enough to compile-check it); override with CUDA_ARCHS="75;90".
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
if [[ -z "${CUDA_ARCHS:-}" ]]; then
  if nvidia-smi -L >/dev/null 2>&1; then CUDA_ARCHS=native; else CUDA_ARCHS=75; fi
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS"
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
