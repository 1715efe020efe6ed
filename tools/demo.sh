#!/usr/bin/env bash
# The README's first command: install dependencies, fetch and convert the demo model
# (SmolLM2-135M-Instruct), build attn-infer and ask it a question. Extra arguments go to attn-infer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
BUILD_DIR=build bash tools/configure.sh
cmake --build build -j "$(nproc)" --target attn-infer
prompt=${PROMPT:-"What is the capital of France? Answer in one sentence."}
./build/attn-infer -m .cache/models/SmolLM2-135M-Instruct --chat -p "$prompt" -n 128 --temp 0 "$@"
