#!/usr/bin/env bash
# Training throughput of `anvil train` next to an equivalent plain-PyTorch eager model
# (bench/train/pytorch_reference.py: same architecture, init, AdamW, clipping), on the same
# machine, threads and BLAS, for the tiny and small configs of bench/train/configs.sh.
# Run it on an idle machine: fp32 throughput halves while anything else computes.
#
# usage: bench/train/compare.sh [build-dir] [fp32-steps] [precisions]
#   e.g. bench/train/compare.sh build 12 "fp32 bf16"
# The anvil runs train configs/tiny-dense.toml's data (prepared on the first run) with the
# model and batch shapes overridden; the reference trains on random tokens (speed does not
# depend on the values). Both exclude their first step(s) from timing.
set -euo pipefail
build=${1:-build}
steps=${2:-12}
precisions=${3:-fp32 bf16}
cd "$(dirname "$0")/../.."
. bench/train/configs.sh
anvil="$build/bin/anvil"
threads=$(nproc)
out=$(mktemp -d /tmp/anvil-train-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

# A field of the summary record of a run's metrics.jsonl.
summary_field() { grep '"event":"summary"' "$1" | sed -E "s/.*\"$2\":([0-9.eE+-]+).*/\1/"; }
json_field() { sed -E "s/.*\"$2\": ?([0-9.eE+-]+).*/\1/" <<<"$1"; }

printf '%-6s %-5s %-14s %12s %8s %9s\n' CONFIG PREC IMPL TOKENS/S MFU SPEEDUP
for cfg in $BENCH_CONFIGS; do
  d=$(bench_get "$cfg" D_MODEL); layers=$(bench_get "$cfg" LAYERS); heads=$(bench_get "$cfg" HEADS)
  seq=$(bench_get "$cfg" SEQ); batch=$(bench_get "$cfg" BATCH)
  for precision in $precisions; do
    n=$steps
    [ "$precision" = bf16 ] && n=3  # without AMX/AVX512-BF16, bf16 matmuls run ~30x slower
    "$anvil" train configs/tiny-dense.toml --log-level warn \
      --set "run.out_dir=\"$out\"" --set "run.threads=$threads" --set "model.d_model=$d" \
      --set "model.n_layers=$layers" --set "model.n_heads=$heads" --set "model.max_seq_len=$seq" \
      --set "training.seq_len=$seq" --set "training.micro_batch_size=$batch" \
      --set "training.steps=$n" --set training.warmup_steps=0 --set 'training.schedule="constant"' \
      --set training.eval_every=0 --set 'eval[0].max_batches=1' --set 'sample.prompt=""' \
      --set "training.precision=\"$precision\"" > "$out/anvil.log" 2>&1 ||
      { cat "$out/anvil.log"; exit 1; }
    metrics="$out/tiny-dense/metrics.jsonl"
    ours=$(summary_field "$metrics" tokens_per_s)
    peak=$(summary_field "$metrics" peak_flops)
    flops=$(summary_field "$metrics" flops_per_token)
    ref=$(/usr/bin/python3 bench/train/pytorch_reference.py $(bench_python_args "$cfg") \
      --steps "$n" --warmup-steps 1 --precision "$precision" --threads "$threads" 2>/dev/null)
    theirs=$(json_field "$ref" tokens_per_s)
    awk -v c="$cfg" -v p="$precision" -v a="$ours" -v b="$theirs" -v f="$flops" -v peak="$peak" 'BEGIN {
      printf "%-6s %-5s %-14s %12.0f %7.1f%% %8.2fx\n", c, p, "anvil", a, 100 * a * f / peak, a / b
      printf "%-6s %-5s %-14s %12.0f %7.1f%% %9s\n", c, p, "pytorch-eager", b, 100 * b * f / peak, ""
    }'
  done
done
echo "(MFU against the fp32/bf16 matmul peak anvil measured at the start of each run; $threads threads)"
