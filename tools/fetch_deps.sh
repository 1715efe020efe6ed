#!/usr/bin/env bash
# Unpacks the Debian packages attn-infer builds against into .deps/ (git-ignored), for a GPU machine that
# has CUDA and cmake but cannot install packages: carry .deps and configure with
# -DCMAKE_PREFIX_PATH=$PWD/.deps/usr (tools/run_gpu_tests.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
downloads=$(mktemp -d)
(cd "$downloads" && apt-get download nlohmann-json3-dev libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 \
  catch2 libpcre2-dev libpcre2-8-0)
rm -rf .deps && mkdir -p .deps
for deb in "$downloads"/*.deb; do dpkg -x "$deb" .deps; done
rm -rf .deps/usr/share/doc .deps/usr/share/man "$downloads"
echo "unpacked into .deps ($(du -sh .deps | cut -f1))"
