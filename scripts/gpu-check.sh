#!/usr/bin/env bash
# Builds Anvil against a CUDA LibTorch 2.x (the one inside the machine's PyTorch wheel) on a GPU
# machine without a package registry, runs the whole suite including tests labelled `cuda`, and
# prints a short summary.
#
# Dependencies other than LibTorch come from .deb files fetched beforehand on a Debian machine by
# scripts/gpu-deps.sh and unpacked here into a local prefix (nothing is installed system-wide).
#
# usage: scripts/gpu-check.sh            (from the repository root)
# env:   PYTHON (default python3), BUILD (default build-gpu), JOBS (default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-python3}
build=${BUILD:-build-gpu}
jobs=${JOBS:-$(nproc)}
prefix="$root/.gpu-deps/prefix"
start=$(date +%s)

# 1. Unpack the carried Debian packages into a private prefix (dpkg-deb, or ar + tar).
if [ -d .gpu-deps/debs ] && [ ! -f "$prefix/.unpacked" ]; then
  mkdir -p "$prefix"
  for deb in .gpu-deps/debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$prefix"
    else
      tmp=$(mktemp -d); (cd "$tmp" && ar x "$root/$deb" && tar xf data.tar.* -C "$prefix"); rm -rf "$tmp"
    fi
  done
  touch "$prefix/.unpacked"
fi
export PATH="$prefix/usr/bin:$PATH"
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The bundled cmake finds its modules relative to its own binary (../share/cmake-3.25).
cmake --version | head -1

# 2. LibTorch from the PyTorch wheel, and CUDA from the machine.
torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
torch_version=$("$python" -c 'import torch; print(torch.__version__)')
cuda_home=${CUDA_HOME:-/usr/local/cuda}
echo "gpu-check: torch $torch_version at $torch_prefix, CUDA at $cuda_home"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# 3. Configure, build, test (cuda-labelled tests included).
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr;$prefix/usr/lib/x86_64-linux-gnu/cmake" \
  -DCUDAToolkit_ROOT="$cuda_home" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc"
cmake --build "$build" -j "$jobs"
set +e
(cd "$build" && ctest --output-on-failure -j "$jobs" | tee ctest.log)
status=${PIPESTATUS[0]}
set -e

# 4. Summary.
echo
echo "== gpu-check summary =="
echo "torch:   $torch_version"
"$build/bin/anvil" --version | sed -n '2,6p'
grep -E "tests passed|tests failed" "$build/ctest.log" || true
echo "time:    $(( $(date +%s) - start )) s"
exit "$status"
