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
"$anvil" train configs/tiny-dense.toml --force-prepare --restart
step "anvil data inspect runs/tiny-dense/data"
"$anvil" data inspect runs/tiny-dense/data --top 10 --samples 1
step "anvil generate runs/tiny-dense (from the final checkpoint, streamed, with the KV cache)"
"$anvil" generate runs/tiny-dense --prompt "JULIET:" --max-new-tokens 120 --temperature 0.8 --top-p 0.95 \
  --repetition-penalty 1.1 --stop $'\n\n'
echo
echo "Run folder: runs/tiny-dense (manifest.toml, metrics.jsonl, data/, checkpoints/). Next:"
echo "  $anvil generate runs/tiny-dense --prompt 'KING HENRY:' --temperature 0   # greedy"
echo "  $anvil export runs/tiny-dense --out runs/tiny-dense/hf                      # Hugging Face folder"
echo "  $anvil train configs/tiny-dense.toml --restart --set 'optimizer.plugin=\"lion\"' --set optimizer.lr=2e-4"
