#!/usr/bin/env bash
# Configures the build directory ($BUILD_DIR, default build) the same way for the demo and the tests:
# CUDA code for this machine's GPU, or for sm_75 alone when there is none (enough to compile-check it);
# CUDA_ARCHS="75;90" overrides. Uses .deps/ (tools/fetch_deps.sh) when present.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
if [[ -z "${CUDA_ARCHS:-}" ]]; then
  if nvidia-smi -L >/dev/null 2>&1; then CUDA_ARCHS=native; else CUDA_ARCHS=75; fi
fi
prefix=()
[[ -d .deps/usr ]] && prefix=(-DCMAKE_PREFIX_PATH="$PWD/.deps/usr")
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS" "${prefix[@]}"
