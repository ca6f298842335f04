#pragma once
// A prepared dataset opened for reading: dataset.json checked, every shard memory-mapped and
// verified (size always, checksum unless disabled), and each split seen as one token stream.

#include "data/dataset_format.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace anvil::core {

/// The tokens of one split as one sequence across its shards.
class TokenStream {
 public:
  TokenStream();
  ~TokenStream();
  TokenStream(TokenStream&&) noexcept;
  TokenStream& operator=(TokenStream&&) noexcept;

  std::uint64_t size() const noexcept;       ///< tokens
  std::uint64_t documents() const noexcept;
  /// Copies tokens [begin, begin + count) into `out` as int64 (what LibTorch indexes with),
  /// crossing shard boundaries as needed. Precondition: begin + count <= size().
  void read(std::uint64_t begin, std::size_t count, std::int64_t* out) const;
  /// The token range [first, last) of document `d` (its EOS included).
  std::pair<std::uint64_t, std::uint64_t> document(std::uint64_t d) const;

 private:
  friend class Dataset;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Dataset {
 public:
  struct OpenOptions {
    bool verify_checksums = true;  ///< read every shard once and compare XXH3-128 checksums
  };

  /// Opens the dataset in `dir`. Throws DataError naming the file for a missing folder or
  /// dataset.json, a malformed dataset.json, a missing or truncated shard (expected and actual
  /// size), a checksum mismatch, or an index inconsistent with its token file.
  static Dataset open(const std::filesystem::path& dir, OpenOptions options);
  static Dataset open(const std::filesystem::path& dir) { return open(dir, OpenOptions{}); }

  Dataset(Dataset&&) noexcept;
  Dataset& operator=(Dataset&&) noexcept;
  ~Dataset();

  const DatasetInfo& info() const noexcept;
  const std::filesystem::path& dir() const noexcept;
  bool has_split(std::string_view name) const;
  /// The split's tokens; throws DataError naming the dataset when there is no such split.
  const TokenStream& split(std::string_view name) const;

 private:
  Dataset();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anvil::core
