#!/usr/bin/env bash
# On the GPU machine: build for sm_75 + sm_90, run every GPU test, run them again with the old-GPU code
# paths forced (sm_75 tensor-core variant, SIMT), build a PTX-only compute_75 binary and run its GPU tests
# (the JIT path older drivers take), then compute-sanitizer memcheck and racecheck.
# Logs go to $OUT (or ./gpu-logs). The build goes to $GPU_BUILD_DIR (default build-gpu); ninja rebuilds only
# what changed, so the parts can run in separate calls on one warm machine.
# Usage: bash tools/run_gpu_tests.sh [all|tests|ptx75|sanitizers]   (tests = build, tests, forced paths)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-logs}
build=${GPU_BUILD_DIR:-build-gpu}
part=${1:-all}
mkdir -p "$out"
status=0
step() {  # step NAME COMMAND...: runs, logs to $out/NAME.log, prints a one-line verdict
  local name=$1; shift
  if "$@" >"$out/$name.log" 2>&1; then echo "PASS $name"; else echo "FAIL $name (see $name.log)"; status=1; fi
  tail -n 5 "$out/$name.log"
}
wants() { [[ $part == all || $part == "$1" ]]; }
# A machine without the Debian -dev packages takes them from .deps/ (tools/fetch_deps.sh), carried along.
step build env BUILD_DIR="$build" CUDA_ARCHS="75;90" bash tools/configure.sh
step compile cmake --build "$build" -j "$(nproc)"
if wants tests; then
  step gpu-tests "$build/tests/attn_gpu_tests"
  step cpu-tests "$build/tests/attn_tests"
  step forced-sm75 env ATTN_INFER_FORCE_KERNEL_PATH=sm75 "$build/tests/attn_gpu_tests" "[attention],[flash],[model]"
  step forced-simt env ATTN_INFER_FORCE_KERNEL_PATH=simt "$build/tests/attn_gpu_tests" "[attention],[flash],[model]"
fi
if wants ptx75; then
  step build-ptx75 env BUILD_DIR="$build-ptx75" CUDA_ARCHS=75-virtual bash tools/configure.sh
  step compile-ptx75 cmake --build "$build-ptx75" -j "$(nproc)" --target attn_gpu_tests
  step ptx75-tests "$build-ptx75/tests/attn_gpu_tests"
fi
if wants sanitizers; then
  # Sanitizers over the whole-model tests (every kernel, small shapes) and, for racecheck, which is slow,
  # end-to-end runs that put every flash/xformers variant through prefill and decode.
  step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/attn_gpu_tests" "[model]"
  # The split-K decode with several splits and a pending split, which the tiny models' short runs never reach
  # (a comma in a Catch2 test name must be escaped).
  split_k='GPU attention reads fp16/q8/q4 caches\, contiguous and paged: split-K decode'
  for tool in memcheck racecheck; do
    step "$tool-split-k" compute-sanitizer --tool $tool --error-exitcode 1 "$build/tests/attn_gpu_tests" "$split_k"
  done
  for backend in flash xformers; do
    for model in tiny-llama-hd64 tiny-mistral-hd128; do
      for cache in fp16 q8 q4; do  # q8/q4 decode through the tensor-core split-K kernel
        step "racecheck-$backend-$model-$cache" compute-sanitizer --tool racecheck --error-exitcode 1 \
          "$build/attn-infer" -m "tests/data/models/$model" -p "a prompt longer than the sliding window of the test model" \
          -n 40 --attn-backend "$backend" --kv-cache "$cache" --temp 0
      done
    done
  done
fi
exit $status
