#!/usr/bin/env bash
# Installs exactly the Debian packages Anvil needs to build, test and run, and only those that
# are missing; safe to run again. Uses sudo when not run as root.
set -euo pipefail

packages=(
  cmake ninja-build g++ make pkg-config  # build tools
  libtorch-dev                          # LibTorch (CPU) with its CMake config
  libopenblas0-pthread                  # fast BLAS behind libtorch's fp32 matmuls (see docs/performance.md)
  libboost-dev libboost-program-options-dev libboost-filesystem-dev  # Boost.DLL, program_options
  libtomlplusplus-dev                   # manifests
  libpcre2-dev nlohmann-json3-dev       # BPE pre-tokenizer regexes, tokenizer.json
  libspdlog-dev libfmt-dev              # logging
  libutf8proc-dev libxxhash-dev         # data: Unicode normalization, hashing (dedup, checksums)
  zlib1g-dev libzstd-dev                # data: gzip and zstd corpora
  catch2                                # tests (v2)
  python3                               # tests: the independent safetensors reader
  python3-torch                         # tests: the independent Llama forward pass of export
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
