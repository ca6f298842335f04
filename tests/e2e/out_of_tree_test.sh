#!/usr/bin/env bash
# Proves the SDK package is complete: install Anvil into a temporary prefix, build the example
# plugins against that prefix only (find_package(Anvil) + anvil_add_plugin), and have the
# installed, unchanged `anvil` load them through ANVIL_PLUGIN_PATH: a loss (focal), and an
# architecture made of the SDK's layers (parallel), which it trains, checkpoints and samples.
# usage: out_of_tree_test.sh <anvil build dir> <anvil source dir>
set -euo pipefail
build=$1
source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
# No build type given: the installed package makes it Release (an unoptimised plugin is slow).
cmake -S "$source/examples/out-of-tree-loss" -B "$work/example" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
grep -q "^CMAKE_BUILD_TYPE:STRING=Release$" "$work/example/CMakeCache.txt" ||
  { echo "expected find_package(Anvil) to default the build type to Release"; exit 1; }
cmake --build "$work/example"
anvil="$work/prefix/bin/anvil"
manifest="$source/examples/out-of-tree-loss/focal.toml"

# Without the plugin on the path, the manifest names the missing plugin and exits 2.
set +e
"$anvil" check "$manifest" 2>"$work/err.txt"
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "expected exit 2 without the plugin, got $rc"; cat "$work/err.txt"; exit 1; }
grep -q "error: loss\[0\].plugin: unknown loss plugin 'focal'" "$work/err.txt" || { cat "$work/err.txt"; exit 1; }

export ANVIL_PLUGIN_PATH="$work/example"
"$anvil" plugins list | tee "$work/list.txt"
grep -Eq "^focal +loss +1\.0\.0 +loaded +$work/example/loss-focal\.so$" "$work/list.txt"
grep -Eq "^sgd +optimizer " "$work/list.txt"   # the installed built-ins are still there
"$anvil" plugins show focal | tee "$work/show.txt"
grep -Eq "^gamma +float +2(\.0)? +0 \.\. 10 " "$work/show.txt"
"$anvil" check "$manifest"
"$anvil" check "$manifest" --dump | grep -q "gamma = 1.5"
echo "out-of-tree plugin: built against the installed SDK and loaded by the installed anvil"

# The architecture: from the installed SDK's contract and layers alone, never from another plugin.
cmake -S "$source/examples/out-of-tree-architecture" -B "$work/arch" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/arch"
if ldd "$work/arch/arch-parallel.so" | grep -E "arch-(dense|moe|hybrid)"; then
  echo "the example architecture must not link a built-in plugin"; exit 1
fi
export ANVIL_PLUGIN_PATH="$work/arch"
"$anvil" plugins show parallel | tee "$work/show-parallel.txt"
grep -Eq "^n_layers +integer +4 +>= 1 +number of parallel blocks" "$work/show-parallel.txt"
"$anvil" train "$source/examples/out-of-tree-architecture/parallel.toml" \
  --set run.out_dir="\"$work/runs\"" >"$work/train.txt" 2>&1 ||
  { cat "$work/train.txt"; exit 1; }
tail -20 "$work/train.txt"
python3 - "$work/runs/parallel/metrics.jsonl" <<'PY'
import json, sys
losses = [r["loss"] for r in map(json.loads, open(sys.argv[1])) if r.get("event") == "train"]
assert len(losses) >= 4, losses
assert losses[-1] < losses[0] - 0.5, f"the parallel decoder did not learn: {losses}"
print(f"parallel: loss {losses[0]:.3f} -> {losses[-1]:.3f}")
PY
# The KV-cache decode path: the unchanged generate command samples from its checkpoint.
"$anvil" generate "$work/runs/parallel" --prompt "ROMEO:" --max-new-tokens 20 --seed 1 >"$work/gen.txt"
grep -q "^ROMEO:" "$work/gen.txt" || { cat "$work/gen.txt"; exit 1; }
echo "out-of-tree architecture: built from the installed SDK, trained and sampled by the installed anvil"
