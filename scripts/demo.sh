#!/usr/bin/env bash
# `make demo`: what the platform can do today, end to end on the bundled configs.
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
step "anvil plugins show sgd"
"$anvil" plugins show sgd
step "anvil check configs/tiny-bigram.toml"
"$anvil" check configs/tiny-bigram.toml
step "anvil data prepare configs/tiny-bigram.toml (clean, deduplicate, tokenize into shards)"
"$anvil" data prepare configs/tiny-bigram.toml --force
step "anvil data inspect runs/tiny-bigram/data"
"$anvil" data inspect runs/tiny-bigram/data --top 10 --samples 2
step "anvil check on a manifest with mistakes (errors are expected here)"
set +e
"$anvil" check tests/fixtures/e2e/broken.toml
rc=$?
set -e
echo "(exit code $rc: manifest errors exit with 2)"
[ "$rc" -eq 2 ]
step "no training demo yet"
echo "Training (anvil train) arrives with the trainer; this demo shows the platform's base:"
echo "plugins discovered and checked, manifests validated before any compute."
