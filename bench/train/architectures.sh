#!/usr/bin/env bash
# Training throughput and MFU of the demo's three architectures on the same data, batch and
# optimizer (configs/tiny-{dense,moe,hybrid}.toml): STEPS steps of 8 x 256 tokens each, no
# evaluation or sample; MFU counts active parameters only (an MoE token uses 2 of 8 experts).
# The tokenizer and the token shards are prepared before the timed runs.
# usage: bench/train/architectures.sh <build dir> [steps, default 60]
set -euo pipefail
build=${1:-build}
steps=${2:-60}
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-12s %12s %8s %12s %12s\n' config tokens/s MFU "final loss" parameters
for arch in dense moe hybrid; do
  common=(--set "run.out_dir=\"$out\"" --set training.eval_every=0 --set 'sample.prompt=""')
  "$build/bin/anvil" data prepare "configs/tiny-$arch.toml" "${common[@]}" >/dev/null 2>&1
  log=$("$build/bin/anvil" train "configs/tiny-$arch.toml" "${common[@]}" --set "training.steps=$steps" \
        --set training.warmup_steps=5 --restart 2>&1)
  tps=$(grep -E '^throughput' <<<"$log" | awk '{print $2}')
  mfu=$(grep -E '^MFU' <<<"$log" | awk '{print $2}')
  loss=$(grep -E '^final train loss' <<<"$log" | awk '{print $4}')
  params=$(grep -oE '[0-9.,]+[MK]? parameters' <<<"$log" | head -1 | awk '{print $1}')
  printf '%-12s %12s %8s %12s %12s\n' "tiny-$arch" "$tps" "$mfu" "$loss" "$params"
done
