#pragma once
// Batches for training and validation, read from a split's token stream.
//
// Training: the stream is cut into windows of seq_len + 1 tokens at stride seq_len (input =
// the first seq_len tokens, target = the last seq_len), documents packed with their EOS
// separators. Windows are visited in a seeded pseudo-random permutation per epoch (a Feistel
// network: no table, O(1) to seek, identical on every platform). Sequence g of the run (counting
// across all ranks) is window perm_epoch(g mod W) of epoch g / W; rank r of `world` reads
// sequences [k*B*world + r*B, k*B*world + (r+1)*B) for its k-th batch of B. So ranks are
// disjoint, together complete, and the whole position is one number.

#include "data/dataset.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace anvil::core {

/// The target of a position without one (validation padding): the ignore index of the
/// cross-entropy loss and the perplexity evaluator (PyTorch's default, -100).
inline constexpr std::int64_t kNoTarget = -100;

/// A batch in host memory, row-major [rows][seq_len].
struct TokenBatch {
  std::int64_t rows = 0;
  std::int64_t seq_len = 0;
  std::vector<std::int64_t> input;
  std::vector<std::int64_t> target;  ///< kNoTarget where there is none (validation padding)
};

struct LoaderOptions {
  std::int64_t seq_len = 256;
  std::int64_t batch_size = 8;  ///< sequences per batch on this rank
  int rank = 0;
  int world = 1;
  std::uint64_t seed = 1234;
  bool shuffle = true;
  int prefetch = 2;  ///< batches prepared ahead on a background thread; 0 = no thread
};

/// Where a TrainLoader is: enough to continue exactly, and to refuse a mismatched resume.
struct LoaderState {
  std::uint64_t sequences = 0;  ///< sequences consumed by all ranks together
  std::uint64_t seed = 0;
  std::int64_t seq_len = 0;
  std::uint64_t windows = 0;    ///< windows per epoch of the stream it was made for
  /// One line of text, e.g. "anvil-loader 1 sequences=4096 seed=1234 seq_len=256 windows=9000".
  std::string to_string() const;
  /// Parses to_string()'s format; throws DataError naming the field on anything else.
  static LoaderState parse(const std::string& text);
};

class TrainLoader {
 public:
  /// Throws DataError when the stream holds fewer than seq_len + 1 tokens ("the train split
  /// has N tokens, fewer than seq_len + 1 = M"), or ConfigError-like DataError for bad options.
  TrainLoader(const TokenStream& tokens, LoaderOptions options);
  ~TrainLoader();

  /// The next batch of this rank (batch_size × seq_len).
  TokenBatch next();
  /// The position of the next batch next() returns.
  LoaderState state() const;
  /// Continues from `state` (as returned by state() of a loader on the same data, possibly with
  /// a different rank count). Throws DataError when seed, seq_len or windows differ.
  void restore(const LoaderState& state);

  std::uint64_t windows_per_epoch() const noexcept;
  /// Epochs completed so far, fractional.
  double epoch() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Every token of a split exactly once, in order, for evaluation: windows at stride seq_len,
/// each row's input followed by its targets; the last window is padded (target kNoTarget). Rank r of
/// world takes windows r, r + world, ...; batches hold up to batch_size rows.
class ValidationBatches {
 public:
  ValidationBatches(const TokenStream& tokens, std::int64_t seq_len, std::int64_t batch_size,
                    int rank = 0, int world = 1);
  /// Fills `batch` with the next batch and returns true; false when done.
  bool next(TokenBatch& batch);
  /// Back to the first batch.
  void reset();
  /// Targets (not kNoTarget) this rank sees in a full pass.
  std::uint64_t target_count() const noexcept;

 private:
  const TokenStream* tokens_;
  std::int64_t seq_len_, batch_size_;
  int rank_, world_;
  std::uint64_t windows_ = 0;  // all ranks
  std::uint64_t next_window_ = 0;
};

/// The Feistel permutation of [0, n) for (seed, epoch): bijective and deterministic.
std::uint64_t permute_index(std::uint64_t index, std::uint64_t n, std::uint64_t seed,
                            std::uint64_t epoch);

}  // namespace anvil::core
