#!/usr/bin/env bash
# Checkpoints and generation, measured (docs/benchmarks.md records the results):
#  1. raw disk write speed (dd, fsync at the end) against checkpoint_bench's checkpoint write
#     of the same size, in the same folder;
#  2. training throughput of configs/tiny-dense.toml without checkpoints, with a synchronous and
#     with an asynchronous checkpoint every 10 steps (the overhead per save, scaled to one save a
#     minute);
#  3. generation tokens/s from the trained checkpoint, with and without the KV cache.
# usage: bench/checkpoint/run.sh <build dir> [scratch folder, default runs/bench-checkpoint]
set -euo pipefail
build=${1:-build}
scratch=${2:-runs/bench-checkpoint}
cd "$(dirname "$0")/../.."
anvil="$build/bin/anvil"
mkdir -p "$scratch"
millions=${CHECKPOINT_BENCH_MILLIONS:-250}
megabytes=$((millions * 12))

echo "== disk: dd of ${megabytes} MB, fsync at the end =="
dd if=/dev/zero of="$scratch/dd.bin" bs=1M count="$megabytes" conv=fsync 2>&1 | tail -1
rm -f "$scratch/dd.bin"
echo
echo "== checkpoint write and verify =="
"$build/bin/checkpoint_bench" "$scratch/checkpoints" "$millions" 3
echo

# tokens/s of the run, and the seconds training waited per checkpoint (metrics.jsonl), scaled to
# one checkpoint a minute against the run's step time.
report() {
  python3 - "$1/metrics.jsonl" "$2" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
summary = [r for r in records if r["event"] == "summary"][-1]
blocked = [r["blocked_s"] for r in records if r["event"] == "checkpoint"]
line = "%-24s %6.0f tokens/s" % (sys.argv[2], summary["tokens_per_s"])
if blocked:
    mean = sum(blocked) / len(blocked)
    line += "  training waits %.3f s per checkpoint = %.2f%% at one a minute" % (mean, 100 * mean / 60)
print(line)
PY
}
steps=${CHECKPOINT_BENCH_STEPS:-60}
common=(configs/tiny-dense.toml --set "run.out_dir=\"$scratch\"" --set "training.steps=$steps"
        --set "data.dataset=\"$scratch/data\"" --set training.eval_every=0 --set 'sample.prompt=""'
        --set checkpoint.keep_last=2 --restart)
echo "== training overhead of checkpoints (tiny-dense, $steps steps, one save every 10) =="
"$anvil" train "${common[@]}" --set 'run.name="none"' --set checkpoint.at_end=false >/dev/null
report "$scratch/none" "no checkpoints"
"$anvil" train "${common[@]}" --set 'run.name="sync"' --set checkpoint.every_steps=10 >/dev/null
report "$scratch/sync" "sync, every 10 steps"
"$anvil" train "${common[@]}" --set 'run.name="async"' --set checkpoint.every_steps=10 \
  --set checkpoint.async=true >/dev/null
report "$scratch/async" "async, every 10 steps"
echo "(checkpoint size: $(du -sh "$scratch/sync/checkpoints/$(cat "$scratch/sync/checkpoints/latest")" | cut -f1))"
echo
echo "== generation from the checkpoint (200 new tokens, greedy) =="
for flag in "" --no-cache; do
  "$anvil" generate "$scratch/sync" --prompt "ROMEO:" --max-new-tokens 200 --temperature 0 \
    --ignore-eos $flag 2>&1 >/dev/null | tail -1
done
