#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine to build attn-infer and fetch its demo model.
# Installs only what is missing: the build toolchain and C++ libraries from apt, then the three
# Python packages tools/fetch_demo_model.py needs (gguf, numpy, safetensors; no torch).
# --deps-only: the apt packages alone (what CI needs to build and test).
set -euo pipefail
deps_only=false
[[ "${1:-}" == "--deps-only" ]] && deps_only=true

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_packages=(build-essential cmake ninja-build pkg-config nlohmann-json3-dev libcli11-dev
              libspdlog-dev catch2 libpcre2-dev)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo_prefix=()
  [[ "$(id -u)" -ne 0 ]] && sudo_prefix=(sudo)
  echo "apt: installing ${missing[*]}"
  "${sudo_prefix[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_prefix[@]}" apt-get install -y "${missing[@]}"
else
  echo "apt: all build packages present"
fi

$deps_only && exit 0

python_modules=(gguf numpy safetensors)
missing=()
for module in "${python_modules[@]}"; do
  python3 -c "import $module" 2>/dev/null || missing+=("$module")
done
if ((${#missing[@]})); then
  echo "pip: installing ${missing[*]}"
  python3 -m pip install "${missing[@]}" || python3 -m pip install --break-system-packages "${missing[@]}"
else
  echo "pip: gguf, numpy, safetensors present"
fi

python3 "$repo_root/tools/fetch_demo_model.py"
