#!/usr/bin/env bash
# Runs every benchmark; prints what docs/benchmarks.md records.
# usage: bench/run.sh <build dir>
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
anvil="$build/bin/anvil"

# Wall time of whole `anvil` invocations (process start, plugin loading, work), median of 20.
time_command() {
  local samples=()
  for _ in $(seq 20); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    samples+=($(( (end - start) / 1000000 )))
  done
  local median
  median=$(printf '%s\n' "${samples[@]}" | sort -n | sed -n '10p')
  printf '%-45s median %4d ms (20 runs)\n' "${*#$build/bin/}" "$median"
}

echo "== CLI start-up =="
time_command "$build/bin/libtorch_baseline"
time_command "$anvil" --version
time_command "$anvil" plugins list
time_command "$anvil" check configs/tiny-bigram.toml
echo
echo "== in-process =="
"$build/bin/manifest_bench" "$build/lib/anvil/plugins"
echo
echo "== data loader (token shards, mmap) =="
"$build/bin/anvil_loader_bench"
echo
echo
echo "== training throughput against eager PyTorch (fp32; a few minutes) =="
bash bench/train/compare.sh "$build" 12 fp32
echo
echo "== checkpoints and generation (a few minutes) =="
bash bench/checkpoint/run.sh "$build"
echo
echo "== local vs full attention =="
"$build/bin/attention_bench"
echo
echo "== MoE dispatch overhead =="
"$build/bin/moe_bench"
echo
echo "== memory footprints (anvil check's plan) against measured allocations =="
"$build/bin/memory_bench"
echo
echo "== architectures: dense, MoE, hybrid on the demo's run (a few minutes) =="
bash bench/train/architectures.sh "$build" 60
echo
echo "(longer runs: bench/tokenizer/run.sh, bench/data/prepare.sh, bench/train/compare.sh with bf16)"
