#!/usr/bin/env bash
# The SASS of one kernel, on a machine without a GPU: compiles a CUDA source to a cubin (ptxas -v's
# registers and spills to stderr) and prints the kernel's instructions with their byte offsets, the offsets
# ncu's source view uses (tools/ncu_source_summary.py --regions).
#   bash tools/kernel_sass.sh kernels/cuda/flash/flash_decode.cu 'flash_decode_mma_kernelI6__halfLi128E.*E3E' > q4.sass
# PATTERN is a grep -E pattern on the mangled name; the first match is printed. ARCH (default sm_90) picks
# the target. nvdisasm must read the toolkit's cubins: the one beside nvcc, else the nvidia-cuda-nvdisasm
# wheel from PyPI, fetched once into .cache/nvdisasm (Debian's CUDA 11.8 tools cannot read CUDA 13's).
set -euo pipefail
cd "$(dirname "$0")/.."
source_file=${1:?usage: kernel_sass.sh SOURCE.cu PATTERN}
pattern=${2:?usage: kernel_sass.sh SOURCE.cu PATTERN}
arch=${ARCH:-sm_90}

nvdisasm=$(dirname "$(command -v nvcc)")/nvdisasm
if [[ ! -x $nvdisasm ]]; then
  nvdisasm=$(find .cache/nvdisasm -name nvdisasm -type f 2>/dev/null | head -n 1 || true)
  if [[ -z $nvdisasm ]]; then
    python3 -m pip download --quiet --no-deps nvidia-cuda-nvdisasm -d .cache/nvdisasm >&2
    (cd .cache/nvdisasm && python3 -m zipfile -e ./*.whl .)
    nvdisasm=$(find .cache/nvdisasm -name nvdisasm -type f | head -n 1)
    chmod +x "$nvdisasm"
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
includes=(-I.)
[[ -d .deps/usr/include ]] && includes+=(-I.deps/usr/include)
nvcc -std=c++17 --expt-relaxed-constexpr -O3 -arch="$arch" "${includes[@]}" -cubin -o "$work/kernel.cubin" \
  "$source_file" -Xptxas -v 2> "$work/ptxas.log"
"$nvdisasm" -c -sf "$work/kernel.cubin" > "$work/all.sass"
name=$(grep -oE "^\s*\.section\s+\.text\.[^,]+" "$work/all.sass" | sed 's/.*\.text\.//' | grep -E -m 1 "$pattern" || true)
[[ -n $name ]] || { echo "no kernel in $source_file matches '$pattern'" >&2; exit 1; }
grep -A 2 -F "$name" "$work/ptxas.log" | grep -E "registers|spill" >&2 || true
awk -v section=".text.$name" '$0 ~ /\.section/ { on = index($0, section ",") > 0 } on' "$work/all.sass"
