#!/usr/bin/env bash
# Builds the tokenizer benchmark corpus: ~128 MiB of mixed UTF-8 text, from text that is
# already on a Debian machine, never written into the repo.
#
# usage: bench/tokenizer/make_corpus.sh [OUT] [SIZE_MB]
#   OUT      default /tmp/anvil-bench/corpus.txt (OUT.sources gets the list of files used)
#   SIZE_MB  default 128 (MiB); the script fails if the sources give less than that
#
# Recipe (deterministic for a given set of installed packages; LC_ALL=C throughout):
#   1. Collect these source files:
#        - /usr/share/common-licenses/*                   (licence texts)
#        - /usr/share/doc/*/copyright                     (Debian copyright files: prose, names, e-mail addresses)
#        - /usr/share/doc/**/*.gz except *.tar.gz, *.ps.gz, *.pdf.gz, *.json.gz
#                                                         (upstream and Debian changelogs, NEWS files, READMEs)
#        - /usr/share/doc/** plain files named *.txt, README*, NEWS*, *.md, *.rst, TODO*, AUTHORS*, THANKS*
#        - /usr/share/man/**/*.gz                         (raw roff sources, English plus de/fr/ja/ru/... translations)
#        - /usr/share/info/*.gz                           (GNU Texinfo manuals: long English prose)
#        - /usr/share/dict/words                          (if present)
#      Sort the paths bytewise and drop byte-identical files (same md5 of the file as stored:
#      many packages ship the same copyright or changelog). Then add data/tinyshakespeare.txt
#      from this repo 3 times (public domain).
#   2. Shuffle that list with `shuf --random-source=<fixed byte stream>`. Every chunk of the
#      corpus therefore mixes sources (the benchmark encodes only the first 20 MB).
#   3. In that order, `zcat -f` each file and keep at most its first 1 MiB, so that no single
#      huge log or changelog dominates. Then:
#        - drop invalid UTF-8, by converting to UTF-32 and back with iconv -c. A plain
#          UTF-8 -> UTF-8 iconv lets through code points above U+10FFFF, which Rust-based
#          peers (HF tokenizers) reject;
#        - delete NULs and C0 controls except \t \n \r;
#        - cut at SIZE_MB MiB;
#        - drop the last, possibly partial, line.
# The script prints the sha256 of the result. Two runs on the same machine give the same
# corpus; a different package set gives a different one, so always compare numbers on a
# single corpus.
set -euo pipefail
export LC_ALL=C

out=${1:-/tmp/anvil-bench/corpus.txt}
size_mb=${2:-128}
repo=$(cd "$(dirname "$0")/../.." && pwd)

case "$(realpath -m "$out")" in
  "$repo"/*) echo "make_corpus.sh: refusing to write the corpus inside the repo ($out)" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$out")"
list="$out.sources"
tmp="$out.tmp"

{
  {
  find /usr/share/common-licenses -type f -print0 2>/dev/null
  find /usr/share/doc -type f -name copyright -print0 2>/dev/null
  find /usr/share/doc -type f -name '*.gz' ! -name '*.tar.gz' ! -name '*.ps.gz' ! -name '*.pdf.gz' \
       ! -name '*.json.gz' -print0 2>/dev/null
  find /usr/share/doc -type f \( -name '*.txt' -o -name 'README*' -o -name 'NEWS*' -o -name '*.md' \
       -o -name '*.rst' -o -name 'TODO*' -o -name 'AUTHORS*' -o -name 'THANKS*' \) ! -name '*.gz' -print0 2>/dev/null
  find /usr/share/man -type f -name '*.gz' -print0 2>/dev/null
  find /usr/share/info -type f -name '*.gz' -print0 2>/dev/null
  if [ -f /usr/share/dict/words ]; then printf '%s\0' /usr/share/dict/words; fi
  } | sort -z | xargs -0 md5sum -- | awk '!seen[$1]++ { sub(/^[0-9a-f]+  /, ""); printf "%s%c", $0, 0 }'
  for _ in 1 2 3; do printf '%s\0' "$repo/data/tinyshakespeare.txt"; done
} | shuf -z --random-source=<(yes anvil-tokenizer-bench-corpus) > "$list"

nfiles=$(tr -cd '\0' < "$list" | wc -c)
echo "make_corpus.sh: $nfiles source files, writing $size_mb MiB to $out" >&2

# Closing the pipe early (head) stops the producers, so they may exit with SIGPIPE.
set +o pipefail
while IFS= read -r -d '' f; do
  zcat -f -- "$f" 2>/dev/null | head -c 1048576 || break  # head fails once the output is closed
done < "$list" \
  | iconv -f UTF-8 -t UTF-32LE -c | iconv -f UTF-32LE -t UTF-8 -c \
  | tr -d '\000-\010\013\014\016-\037' \
  | head -c $((size_mb * 1024 * 1024)) > "$tmp"
set -o pipefail

# Drop the last line, which the byte cut may have split (even mid-character).
sed -i '$ d' "$tmp"
mv "$tmp" "$out"
tr '\0' '\n' < "$list" > "$list.txt" && mv "$list.txt" "$list"

bytes=$(stat -c %s "$out")
if [ "$bytes" -lt $(( (size_mb - 1) * 1024 * 1024 )) ]; then
  echo "make_corpus.sh: only $bytes bytes of text found; ask for less (SIZE_MB) or install more docs" >&2
  exit 1
fi
echo "make_corpus.sh: $out: $bytes bytes, $(wc -l < "$out") lines, sha256 $(sha256sum "$out" | cut -d' ' -f1)" >&2
