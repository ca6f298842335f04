#pragma once
// Byte-level BPE training: count pre-tokenized words in parallel, then merge the most frequent
// adjacent pair repeatedly, updating pair counts incrementally (only the words that contain the
// merged pair are touched) and picking the next pair from a priority queue.

#include "pretokenizer.h"

#include <anvil/tokenizer.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace anvil::builtin {

struct BpeTrainOptions {
  std::int64_t vocab_size = 0;        ///< target size, special tokens and the 256 bytes included
  std::int64_t min_frequency = 2;     ///< a pair seen fewer times is never merged
  std::vector<std::string> special_tokens;  ///< ids 0..n-1; never split, never merged into
  int threads = 0;                    ///< word-counting threads; 0 = all cores
  std::uint64_t max_input_bytes = 0;  ///< stop reading the corpus after this many bytes; 0 = all
  /// Called now and then from the reading thread with the bytes read so far (progress bars).
  std::function<void(std::uint64_t bytes_read)> progress;
};

/// A trained (or loaded) byte-level BPE vocabulary, tokens spelled in GPT-2's byte-level
/// alphabet (byte_level.h), e.g. "Ġthe".
struct BpeVocabulary {
  /// Token of each id: the special tokens (verbatim) first, then the 256 single-byte symbols in
  /// byte order, then one token per merge, in merge order.
  std::vector<std::string> tokens;
  /// The merges in rank order (lower rank merges first).
  std::vector<std::pair<std::string, std::string>> merges;
  /// The special tokens (also at the front of `tokens`).
  std::vector<std::string> special_tokens;
};

/// Statistics of one training run (for logs and benchmarks).
struct BpeTrainStats {
  std::uint64_t bytes_read = 0;
  std::uint64_t documents = 0;
  std::uint64_t distinct_words = 0;
  double count_seconds = 0;  ///< reading and counting words
  double merge_seconds = 0;  ///< the merge loop
};

/// Trains a vocabulary of `options.vocab_size` tokens (fewer when the corpus runs out of pairs
/// seen at least min_frequency times). Deterministic: the same corpus and options give the same
/// vocabulary whatever the thread count; ties between equally frequent pairs go to the pair
/// whose (left token id, right token id) is smallest. Throws anvil::Error when vocab_size is
/// smaller than 256 + the number of special tokens.
BpeVocabulary train_bpe(TextSource& corpus, const Pretokenizer& pretokenizer,
                        const BpeTrainOptions& options, BpeTrainStats* stats = nullptr);

}  // namespace anvil::builtin
