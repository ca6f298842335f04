#pragma once
// Stage 2 of `anvil data prepare`: exact duplicates (128-bit hash of the cleaned text) and
// near duplicates (MinHash signatures over word shingles, banded LSH, candidates confirmed by
// their estimated Jaccard similarity). The first occurrence is kept. Hashing is thread-safe;
// documents are added by one thread, in document order, so the result never depends on the
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

/// Finds exact and near duplicates among documents added in order (ids 0, 1, 2, ...) with
/// memory that does not grow with the corpus, beyond one byte per document: each document's
/// 128-bit hash and LSH band keys are appended to partition files, and its signature to a
/// signature file, in `work_dir`; resolve() then loads one partition at a time.
class DuplicateFinder {
 public:
  /// `expected_bytes` is the corpus size, which sets the number of partitions (more for larger
  /// corpora, so that one partition stays a few megabytes). Throws Error for inconsistent
  /// options (bands not dividing permutations, threshold outside [0, 1]) and DataError when the
  /// files cannot be created.
  DuplicateFinder(const DedupOptions& options, std::filesystem::path work_dir,
                  std::uint64_t expected_bytes);
  /// Removes its files.
  ~DuplicateFinder();
  DuplicateFinder(const DuplicateFinder&) = delete;
  DuplicateFinder& operator=(const DuplicateFinder&) = delete;

  /// Adds the next document. `signature` (options.permutations values) is ignored, and may be
  /// empty, when near-duplicate detection is off.
  void add(const DocumentHash& hash, const std::vector<std::uint32_t>& signature);
  std::uint64_t documents() const noexcept;

  enum class Verdict : std::uint8_t { keep, exact_duplicate, near_duplicate };
  struct Result {
    std::vector<Verdict> verdicts;  ///< one per document, in the order they were added
    std::uint64_t exact = 0;
    std::uint64_t near = 0;
    std::uint64_t candidates_checked = 0;  ///< signature comparisons made
    std::size_t partitions = 0;
    std::size_t largest_partition_bytes = 0;  ///< the most memory one partition took
  };

  /// Decides every document, once, after the last add(). In each group of equal hashes every
  /// document but the first is an exact duplicate (with options.exact). In each group of
  /// documents sharing an LSH band key, exact duplicates left out, every document whose
  /// estimated Jaccard similarity with the group's first document reaches the threshold is a
  /// near duplicate (with options.near). So a document is only removed for an earlier one, and
  /// the first document of every cluster is kept.
  Result resolve();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anvil::core
