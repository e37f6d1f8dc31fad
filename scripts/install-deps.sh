#!/usr/bin/env bash
# Installs the Debian packages tidemark needs to build and test, skipping those present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libunwind-dev libdw-dev libelf-dev libzstd-dev libiberty-dev
  catch2 libcli11-dev nlohmann-json3-dev libfmt-dev
  libimgui-dev libglfw3-dev libstb-dev libgl-dev libgl1-mesa-dri xvfb xauth
  valgrind python3 nodejs clang-format
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "tidemark: missing Debian packages: ${missing[*]}" >&2
  echo "tidemark: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "tidemark: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
