#!/usr/bin/env bash
# Issue 5's quality tables (docs/KV_CACHE.md): perplexity, mean KL and top-1 agreement of the q8 and q4 KV
# caches against fp16, on the demo model and tests/data/text/kv_quality.txt. Prefill-style (chunks of 512)
# for every attention backend, then decode-style (one token at a time, as generation builds the cache) for
# DECODE_BACKENDS (default flash: ~3 minutes a backend on 2 cores).
# Usage: tools/kv_quality.sh [MODEL_DIR] [more `attn-infer perplexity` flags, e.g. -t 4 --json]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-.cache/models/SmolLM2-135M-Instruct}
shift $(( $# > 0 ? 1 : 0 ))
binary=${ATTN_INFER:-build/attn-infer}
text=tests/data/text/kv_quality.txt
echo "prefill-style (-b 512)"
"$binary" perplexity -m "$model" -f "$text" --backends naive,sdp,flash,xformers --kv-cache q8,q4 -b 512 "$@"
echo "decode-style (-b 1)"
"$binary" perplexity -m "$model" -f "$text" --backends "${DECODE_BACKENDS:-flash}" --kv-cache q8,q4 -b 1 "$@"
