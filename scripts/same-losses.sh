#!/usr/bin/env bash
# Checks that two builds of anvil train the tiny configs to the same losses, bit for bit: the
# "no behaviour change" check of a refactoring. Trains tiny-dense, tiny-moe and tiny-hybrid for
# 40 steps with each binary (a loss logged every step) and compares the per-step losses as
# written in metrics.jsonl (shortest round-trip form: equal text is equal bits).
# usage: scripts/same-losses.sh <anvil before> <anvil after> [steps]
set -euo pipefail
before=${1:?usage: same-losses.sh <anvil before> <anvil after> [steps]}
after=${2:?usage: same-losses.sh <anvil before> <anvil after> [steps]}
steps=${3:-40}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

losses() { # <metrics.jsonl>: "step loss" per training step
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    if record.get("event") == "train":
        print(record["step"], repr(record["loss"]))' "$1"
}

status=0
for config in tiny-dense tiny-moe tiny-hybrid; do
  for side in before after; do
    anvil=$before
    [ "$side" = after ] && anvil=$after
    "$anvil" train "configs/$config.toml" --restart --set training.steps="$steps" \
      --set run.log_every=1 --set training.eval_every=0 --set 'sample.prompt=""' \
      --set run.out_dir="\"$work/$side\"" >"$work/$config-$side.log" 2>&1 ||
      { echo "$config: $side failed"; tail -5 "$work/$config-$side.log"; exit 1; }
    losses "$work/$side/$config/metrics.jsonl" >"$work/$config-$side.losses"
  done
  if cmp -s "$work/$config-before.losses" "$work/$config-after.losses"; then
    echo "$config: the same $(wc -l <"$work/$config-after.losses") losses, bit for bit (last: $(tail -1 "$work/$config-after.losses"))"
  else
    echo "$config: losses differ"; diff "$work/$config-before.losses" "$work/$config-after.losses" | head -5
    status=1
  fi
done
exit $status
