#!/usr/bin/env bash
# `make demo`: the platform's main job on the bundled corpus: train the tiny dense model on
# Shakespeare and show what it learned (validation loss, bits per byte, a generated sample).
# usage: scripts/demo.sh <path to anvil>
set -euo pipefail
anvil=${1:-build/bin/anvil}
cd "$(dirname "$0")/.."

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }

step "anvil --version"
"$anvil" --version
step "anvil plugins list"
"$anvil" plugins list
step "anvil plugins show adamw"
"$anvil" plugins show adamw
step "anvil check configs/tiny-dense.toml (validate the run before any compute)"
"$anvil" check configs/tiny-dense.toml
step "anvil check on a manifest with mistakes (errors are expected here)"
set +e
"$anvil" check tests/fixtures/e2e/broken.toml
rc=$?
set -e
echo "(exit code $rc: manifest errors exit with 2)"
[ "$rc" -eq 2 ]
step "anvil train configs/tiny-dense.toml (BPE tokenizer, clean + dedup + shards, then train; ~5 min on 2 cores)"
"$anvil" train configs/tiny-dense.toml --force-prepare
step "anvil data inspect runs/tiny-dense/data"
"$anvil" data inspect runs/tiny-dense/data --top 10 --samples 1
echo
echo "Run folder: runs/tiny-dense (manifest.toml, metrics.jsonl, data/). Try another optimizer:"
echo "  $anvil train configs/tiny-dense.toml --set 'optimizer.plugin=\"lion\"' --set optimizer.lr=2e-4"
