#pragma once
// Stage 2 of `anvil data prepare`: exact duplicates (128-bit hash of the cleaned text) and
// near duplicates (MinHash signatures over word shingles, banded LSH, candidates confirmed by
// their estimated Jaccard similarity). The first occurrence is kept. Hashing is thread-safe;
// the indexes are filled by one thread, in document order, so the result never depends on the
// number of workers.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

namespace anvil::core {

struct DedupOptions {
  bool exact = true;
  bool near = true;
  int shingle = 5;          ///< words per shingle (a document with fewer words is one shingle)
  int permutations = 128;   ///< MinHash signature length; a multiple of bands
  int bands = 16;           ///< LSH bands of permutations/bands rows each
  double threshold = 0.8;   ///< estimated Jaccard similarity at or above which it is a duplicate
  std::uint64_t seed = 0x5eed;
};

/// 128-bit XXH3 hash of a document's bytes.
struct DocumentHash {
  std::uint64_t low = 0, high = 0;
  bool operator==(const DocumentHash& other) const noexcept {
    return low == other.low && high == other.high;
  }
};
DocumentHash hash_document(std::string_view text);

/// Set of document hashes: insert() is true for a hash not seen before.
class ExactIndex {
 public:
  ExactIndex();
  ~ExactIndex();
  bool insert(const DocumentHash& hash);
  std::size_t size() const noexcept;
  std::size_t memory_bytes() const noexcept;

 private:
  struct Table;
  std::unique_ptr<Table> table_;
};

/// MinHash signatures of documents.
class MinHasher {
 public:
  MinHasher(int shingle, int permutations, std::uint64_t seed);
  /// The `permutations` minima, over the document's word shingles (words = maximal runs of
  /// non-whitespace bytes, joined by one space), of independent hash functions. 32 bits each:
  /// a collision of two different minima has probability 2^-32.
  void signature(std::string_view text, std::vector<std::uint32_t>& out) const;
  int permutations() const noexcept { return permutations_; }

 private:
  int shingle_;
  int permutations_;
  std::vector<std::uint64_t> a_, b_;  // (a*h + b) mod (2^61 - 1) per permutation
  std::uint64_t seed_;
};

/// Fraction of equal positions of two signatures of length n: an unbiased estimate of the
/// Jaccard similarity of the shingle sets.
double estimated_jaccard(const std::uint32_t* a, const std::uint32_t* b, std::size_t n);

/// Banded LSH over the signatures of kept documents.
///
/// RAM holds only the band keys (about 12 bytes per band per kept document); the signatures
/// themselves, needed to confirm a candidate, are appended to `scratch_file` when one is given
/// (read back with pread), else kept in memory.
class NearDuplicateIndex {
 public:
  NearDuplicateIndex(int permutations, int bands, double threshold,
                     std::filesystem::path scratch_file = {});
  ~NearDuplicateIndex();

  /// True when a stored signature shares a band with `signature` and their
  /// estimated_jaccard() is at least the threshold (the document is a near duplicate and is
  /// not stored); otherwise stores it and returns false.
  bool check_and_insert(const std::vector<std::uint32_t>& signature);

  std::size_t size() const noexcept;              ///< signatures stored
  std::uint64_t candidates_checked() const noexcept;  ///< band matches confirmed or refuted
  std::size_t memory_bytes() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anvil::core
