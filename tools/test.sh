#!/usr/bin/env bash
# Configure, build and run every test (ctest). GPU tests run when a CUDA device is present and report
# "skipped: no CUDA device" otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
bash tools/configure.sh
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
