#!/usr/bin/env bash
# Run HERE (a Debian 12 machine with apt): downloads the .deb files the GPU build needs into
# .gpu-deps/debs, so scripts/gpu-check.sh can unpack them on a GPU machine that has no package
# registry (only a PyTorch wheel). Pass the folder along with the tree (e.g. the device tool's
# `carry: [".gpu-deps"]`).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-deps/debs
cd .gpu-deps/debs
packages=(
  libtomlplusplus-dev
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  libboost1.74-dev libboost-program-options1.74-dev libboost-program-options1.74.0
  libboost-filesystem1.74-dev libboost-filesystem1.74.0 libboost-atomic1.74.0 libboost-system1.74.0
  catch2 ninja-build
  cmake cmake-data libjsoncpp25 librhash0 libuv1 libarchive13
)
apt-get download "${packages[@]}"
du -sh .
