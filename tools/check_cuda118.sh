#!/usr/bin/env bash
# Compiles every CUDA source with CUDA 11.8 for sm_60 and sm_75 (the P100 and the 2080 Ti), to prove the
# kernels do not rely on newer toolkits. Uses Debian's nvidia-cuda-toolkit (non-free; it wants g++-11).
# Not part of CI: `apt-get install nvidia-cuda-toolkit g++-11` first.
set -euo pipefail
cd "$(dirname "$0")/.."
nvcc=${NVCC:-/usr/bin/nvcc}
# nvcc runs ptxas from PATH: a newer toolkit's bin (say /usr/local/cuda/bin, which has no sm_60) must not
# come first.
export PATH="/usr/bin:$PATH"
"$nvcc" --version | tail -n 2
# A newer toolkit's headers in /usr/local/include come before /usr/include in the host compiler's search
# path and shadow CUDA 11.8's own: put 11.8's copies first through a directory of links.
overlay=$(mktemp -d)
trap 'rm -rf "$overlay"' EXIT
for entry in /usr/local/include/*; do
  name=$(basename "$entry")
  [[ -e "/usr/include/$name" ]] && ln -s "/usr/include/$name" "$overlay/$name"
done
for source in kernels/cuda/*.cu kernels/cuda/*/*.cu; do
  [[ -e "$source" ]] || continue
  echo "compiling $source"
  "$nvcc" -ccbin g++-11 -std=c++17 -I"$overlay" -I. --expt-relaxed-constexpr -c "$source" -o /dev/null \
    -gencode arch=compute_60,code=sm_60 -gencode arch=compute_75,code=sm_75
done
echo "all CUDA sources compile with $("$nvcc" --version | grep -o 'release [0-9.]*')"
