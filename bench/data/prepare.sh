#!/usr/bin/env bash
# Data pipeline benchmark: `anvil data prepare` end to end on 10 MB, 100 MB and 1 GB of text,
# with the stage breakdown and peak memory (which must stay flat as the corpus grows), then the
# loader benchmark. Prints what docs/benchmarks.md records.
#
# usage: bench/data/prepare.sh <anvil build dir> [sizes]
#   sizes  default "10 100 1000" (MB = 10^6 bytes)
# env:
#   ANVIL_BENCH_DIR  work folder (default /tmp/anvil-bench); nothing is written in the repo
#
# Corpus: bench/tokenizer/make_corpus.sh's 128 MiB of mixed UTF-8 text (Debian docs, man pages,
# licences, Shakespeare). Larger inputs are that corpus followed by variants of it in which
# awk shuffles the words of every line with a fixed seed per variant (awk also folds runs of
# spaces, so a variant is smaller than the original): the same vocabulary and
# line structure, but new documents, so deduplication keeps them and its index really grows.
# Documents are paragraphs. The tokenizer is a byte-level BPE of 16,384 tokens trained once on
# the first 10 MB.
set -euo pipefail
export LC_ALL=C

build=${1:?usage: bench/data/prepare.sh <anvil build dir> [sizes]}
sizes=${2:-10 100 1000}
work=${ANVIL_BENCH_DIR:-/tmp/anvil-bench}
repo=$(cd "$(dirname "$0")/../.." && pwd)
anvil=$(realpath "$build")/bin/anvil
mkdir -p "$work/data"

base="$work/corpus.txt"
[ -f "$base" ] || bash "$repo/bench/tokenizer/make_corpus.sh" "$base"

# The first N MB of a stream, cut back to the last whole line.
take() { head -c "$1" | sed '$ d'; }

input_for() {
  local mb=$1 file="$work/data/corpus-${1}MB.txt"
  if [ ! -f "$file" ]; then
    # Closing the pipe early (head) stops the producers with SIGPIPE: not a failure here.
    set +o pipefail
    {
      cat "$base"
      for seed in $(seq 1 20); do
        awk -v seed="$seed" 'BEGIN { srand(seed) }
          { for (i = NF; i > 1; i--) { j = int(rand() * i) + 1; t = $i; $i = $j; $j = t } print }' \
          "$base" || break
      done
    } | take $((mb * 1000000)) > "$file"
    set -o pipefail
  fi
  echo "$file"
}

tokenizer="$work/data/bpe-16k"
if [ ! -f "$tokenizer/anvil-tokenizer.toml" ]; then
  "$anvil" tokenizer train --plugin bpe --vocab-size 16384 --input "$(input_for 10)" \
    --out "$tokenizer" >/dev/null
fi

echo "| input | MB/s | read | clean | dedup | tokenize | docs in → out | exact / near dups | tokens | peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for mb in $sizes; do
  input=$(input_for "$mb")
  out="$work/data/ds-${mb}MB"
  log="$work/data/prepare-${mb}MB.log"
  /usr/bin/time -v "$anvil" data prepare --input "$input" --tokenizer "$tokenizer" --out "$out" \
    --set data.valid_fraction=0.001 --force >"$log" 2>"$log.err"
  rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log.err")
  mbps=$(sed -n 's/.*(\([0-9.]*\) MB\/s of input).*/\1/p' "$log")
  stage() { awk -v s="$1" '$1 == s { print $(NF-1) " s" }' "$log"; }
  docs_in=$(awk '$1 == "read" { print $2 }' "$log")
  docs_out=$(awk '$1 == "tokenize" { print $3 }' "$log")
  exact=$(grep -o '[0-9,]* exact duplicates' "$log" | cut -d' ' -f1)
  near=$(grep -o '[0-9,]* near duplicates' "$log" | cut -d' ' -f1)
  tokens=$(awk '$1 == "train:" { print $4 }' "$log")
  size_mb=$(( $(stat -c %s "$input") / 1000000 ))
  echo "| ${size_mb} MB | $mbps | $(stage read) | $(stage clean) | $(stage dedup) | $(stage tokenize) | $docs_in → $docs_out | $exact / $near | $tokens | $((rss_kb / 1024)) MiB |"
  rm -rf "$out"
done

echo
echo "loader:"
"$build/bin/anvil_loader_bench"
