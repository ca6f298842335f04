#!/usr/bin/env bash
# Tokenizer benchmark: training time and peak memory, and single-thread encode speed, for
# Anvil's byte-level BPE and its peers. Prints a markdown table.
#   - SentencePiece (Debian package `sentencepiece`): spm_train --model_type=bpe --byte_fallback
#   - Hugging Face tokenizers (npm `tokenizers`, Node bindings): byte-level BPE
#   - OpenAI tiktoken (npm `tiktoken`, WASM): GPT-2 encode only
#   - Anvil: `anvil tokenizer train --plugin bpe` and `anvil tokenizer encode`
#
# usage: bench/tokenizer/run.sh <anvil build dir> [corpus] [vocab]
#   corpus  default /tmp/anvil-bench/corpus.txt; made by make_corpus.sh if missing
#   vocab   default 30000. This is the only size the HF Node bindings can train (see
#           peers/train_hf.mjs); with another size the HF row is marked.
# env:
#   ANVIL_BENCH_DIR  work folder (default /tmp/anvil-bench). Peers are installed there, never
#                    in the repo.
#   BENCH_ONLY       comma-separated subset of: spm,hf,anvil,encode (default: all)
#   ENCODE_MB        size of the encode sample, the corpus's first N MB (default 20)
#
# Peak RSS and training wall time come from /usr/bin/time -v around the whole command.
# Encode MB/s (MB = 10^6 bytes) is single-threaded and leaves out load time. For Anvil it is
# the time `encode --stats` reports; if that is missing, the wall time of the command is used.
set -euo pipefail
export LC_ALL=C

build=${1:?usage: bench/tokenizer/run.sh <anvil build dir> [corpus] [vocab]}
work=${ANVIL_BENCH_DIR:-/tmp/anvil-bench}
corpus=${2:-$work/corpus.txt}
vocab=${3:-30000}
only=${BENCH_ONLY:-spm,hf,anvil,encode}
encode_mb=${ENCODE_MB:-20}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
anvil="$build/bin/anvil"
gpt2="$repo/tests/fixtures/tokenizer/gpt2"
threads=$(nproc)
logs="$work/logs"
results="$work/results.txt"   # key=value lines, rendered into the table at the end
mkdir -p "$work" "$logs"
: > "$results"

wants() { [[ ",$only," == *",$1,"* ]]; }
note() { echo "run.sh: $*" >&2; }
put() { echo "$1=$2" >> "$results"; }
get() { grep -m1 "^$1=" "$results" 2>/dev/null | cut -d= -f2- || true; }

# --- prerequisites -------------------------------------------------------------------------
apt_install() {  # apt_install PACKAGE: we run as root; update the index once
  if [ -z "${apt_updated:-}" ]; then apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >&2
}
[ -x /usr/bin/time ] || apt_install time
if wants spm && ! command -v spm_train >/dev/null; then apt_install sentencepiece; fi

if [ ! -s "$corpus" ]; then
  note "no corpus at $corpus; making one"
  "$here/make_corpus.sh" "$corpus"
fi
corpus_bytes=$(stat -c %s "$corpus")
corpus_lines=$(wc -l < "$corpus")
note "corpus $corpus: $corpus_bytes bytes, $corpus_lines lines; vocab $vocab; $threads threads"

if wants hf || wants encode; then
  peers="$work/peers"
  mkdir -p "$peers"
  if ! cmp -s "$here/peers/package.json" "$peers/package.json" || [ ! -d "$peers/node_modules" ]; then
    cp "$here/peers/package.json" "$peers/"
    (cd "$peers" && npm install --no-audit --no-fund --loglevel=error >&2)
  fi
  cp "$here/peers/train_hf.mjs" "$here/peers/encode_peers.mjs" "$peers/"
fi

# measure NAME CMD...: runs CMD under /usr/bin/time -v. Its stderr goes to $logs/NAME.err and
# its stdout to $logs/NAME.out, or to /dev/null when DISCARD=1. Sets $wall (seconds) and
# $rss (MB), and returns CMD's status.
measure() {
  local name=$1; shift
  local status=0 out="$logs/$name.out"
  [ "${DISCARD:-0}" = 1 ] && out=/dev/null
  /usr/bin/time -v -o "$logs/$name.time" "$@" > "$out" 2> "$logs/$name.err" || status=$?
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
                      for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$logs/$name.time")
  rss=$(awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$logs/$name.time")
  return $status
}

# --- encode sample ---------------------------------------------------------------------------
sample="$work/encode-sample.txt"
if wants encode; then
  # First ENCODE_MB MB, without the last (possibly cut) line.
  head -c $((encode_mb * 1000000)) "$corpus" | sed '$ d' > "$sample"
  sample_mb=$(awk -v b="$(stat -c %s "$sample")" 'BEGIN { printf "%.2f", b / 1e6 }')
fi
mbps() { awk -v mb="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f", mb / s; else print "n/a" }'; }

# --- SentencePiece ---------------------------------------------------------------------------
if wants spm; then
  note "spm_train (bpe, vocab $vocab, byte_fallback, $threads threads) ..."
  rm -rf "$work/spm" && mkdir -p "$work/spm"
  # input_sentence_size = all lines, so nothing is sampled away. Lines over
  # max_sentence_length (4192 bytes) are skipped, which is SentencePiece's own default.
  if measure spm_train spm_train --input="$corpus" --model_prefix="$work/spm/spm" \
       --model_type=bpe --vocab_size="$vocab" --byte_fallback=true \
       --input_sentence_size=$((corpus_lines + 1)) --shuffle_input_sentence=false \
       --num_threads="$threads" --user_defined_symbols='<|endoftext|>'; then
    put spm.train_s "$wall"; put spm.rss "$rss"
  else
    note "spm_train failed; see $logs/spm_train.err"; put spm.train_s failed
  fi
  if wants encode && [ -f "$work/spm/spm.model" ]; then
    # spm_encode encodes line by line on one thread.
    if DISCARD=1 measure spm_encode spm_encode --model="$work/spm/spm.model" --output_format=id < "$sample"; then
      put spm.enc_trained "$(mbps "$sample_mb" "$wall")"
    fi
  fi
fi

# --- Hugging Face tokenizers -------------------------------------------------------------------
if wants hf; then
  note "HF tokenizers training (byte-level BPE, $threads threads) ..."
  rm -rf "$work/hf"
  if measure hf_train env RAYON_NUM_THREADS="$threads" node "$peers/train_hf.mjs" "$corpus" "$work/hf" "$vocab"; then
    put hf.train_s "$wall"; put hf.rss "$rss"
    json=$(grep '^{' "$logs/hf_train.out" | tail -1)
    hf_vocab=$(node -e 'console.log(JSON.parse(process.argv[1]).vocab_size)' "$json")
    [ "$vocab" = 30000 ] || put hf.note "trained vocab $hf_vocab, not $vocab (Node bindings)"
  else
    note "HF training failed; see $logs/hf_train.err"; put hf.train_s failed
  fi
fi

# --- Anvil ---------------------------------------------------------------------------------------
anvil_ok=
if wants anvil || wants encode; then
  if [ ! -x "$anvil" ]; then
    note "SKIP Anvil: no $anvil (build the project first)"; put anvil.note "not built"
  elif ! "$anvil" tokenizer train --help >/dev/null 2>&1; then
    note "SKIP Anvil: this build has no 'anvil tokenizer train' yet"; put anvil.note "no 'tokenizer train' command"
  elif ! "$anvil" plugins list 2>/dev/null | awk '$1 == "bpe" && $2 == "tokenizer"' | grep -q .; then
    note "SKIP Anvil: this build has no 'bpe' tokenizer plugin yet ('$anvil plugins list')"
    put anvil.note "no 'bpe' tokenizer plugin in this build"
  else
    anvil_ok=1
  fi
fi
if wants anvil && [ -n "$anvil_ok" ]; then
  note "anvil tokenizer train --plugin bpe --vocab-size $vocab ..."
  rm -rf "$work/anvil"
  if measure anvil_train "$anvil" tokenizer train --plugin bpe --vocab-size "$vocab" \
       --input "$corpus" --out "$work/anvil"; then
    put anvil.train_s "$wall"; put anvil.rss "$rss"
  else
    note "Anvil training failed; see $logs/anvil_train.err"; put anvil.train_s failed
  fi
fi

# --- encode throughput -----------------------------------------------------------------------------
if wants encode; then
  note "encode throughput on the first $sample_mb MB, 1 thread ..."
  hf_json=
  [ -f "$work/hf/tokenizer.json" ] && hf_json="$work/hf/tokenizer.json"
  if node "$peers/encode_peers.mjs" "$sample" "$gpt2" $hf_json > "$logs/encode_peers.out" 2> "$logs/encode_peers.err"; then
    while IFS= read -r line; do
      key=$(node -e 'const j = JSON.parse(process.argv[1]);
                     console.log((j.tool === "tiktoken" ? "tiktoken" : "hf") + ".enc_" + j.tokenizer + "=" + j.mb_per_s)' "$line")
      echo "$key" >> "$results"
    done < <(grep '^{' "$logs/encode_peers.out")
  else
    note "encode_peers.mjs failed; see $logs/encode_peers.err"
  fi

  # anvil_encode NAME KEY ARGS...: `anvil tokenizer encode ARGS < sample > /dev/null`, whole
  # text in one call; records MB/s under KEY.
  anvil_encode() {
    local name=$1 key=$2; shift 2
    local stats=(--stats)
    [[ "$("$anvil" tokenizer encode --help 2>&1)" == *--stats* ]] || stats=()
    if DISCARD=1 measure "$name" "$anvil" tokenizer encode "$@" "${stats[@]}" < "$sample"; then
      local s
      s=$(sed -n 's/.* tokens in \([0-9.]*\) s .*/\1/p' "$logs/$name.err" | tail -1)
      put "$key" "$(mbps "$sample_mb" "${s:-$wall}")"
    else
      note "$name failed; see $logs/$name.err"
    fi
  }
  if [ -n "$anvil_ok" ]; then
    [ -d "$work/anvil" ] && anvil_encode anvil_encode_trained anvil.enc_trained --tokenizer "$work/anvil"
    anvil_encode anvil_encode_gpt2 anvil.enc_gpt2 --tokenizer "$gpt2" --plugin bpe
  fi
fi

# --- table -----------------------------------------------------------------------------------------
v() { local x; x=$(get "$1"); echo "${x:--}"; }
corpus_mb=$(awk -v b="$corpus_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
echo
echo "Corpus: $corpus ($corpus_mb MB, $corpus_lines lines), vocab $vocab, training threads $threads ($(nproc) cores)."
[ -n "${sample_mb:-}" ] && echo "Encode: first $sample_mb MB of the corpus, 1 thread, MB = 10^6 bytes."
echo
echo "| tool | training s | training peak RSS MB | encode MB/s (own trained) | encode MB/s (GPT-2) | notes |"
echo "|---|---:|---:|---:|---:|---|"
echo "| anvil | $(v anvil.train_s) | $(v anvil.rss) | $(v anvil.enc_trained) | $(v anvil.enc_gpt2) | $(get anvil.note) |"
echo "| sentencepiece 0.1.97 (spm_train bpe) | $(v spm.train_s) | $(v spm.rss) | $(v spm.enc_trained) | - | spm_encode, line by line |"
echo "| hf-tokenizers 0.23.2 (Node) | $(v hf.train_s) | $(v hf.rss) | $(v hf.enc_trained) | $(v hf.enc_gpt2) | $(get hf.note) |"
echo "| tiktoken 1.0.22 (WASM) | - | - | - | $(v tiktoken.enc_gpt2) | encode only |"
echo
echo "Logs and /usr/bin/time -v reports: $logs"
