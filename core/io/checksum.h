#pragma once
// Checksums of what Anvil writes and reads back (token shards, checkpoint files, tokenizer
// folders): XXH3-128 as 32 lowercase hex digits, high 64 bits first.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace anvil::core {

/// A streaming XXH3-128 checksum.
class Checksum {
 public:
  Checksum();
  ~Checksum();
  Checksum(const Checksum&) = delete;
  Checksum& operator=(const Checksum&) = delete;

  void update(const void* data, std::size_t size);
  /// Of everything so far.
  std::string hex() const;
  /// Feeds a file's bytes; returns how many there were. Throws DataError naming the file.
  std::uint64_t update_with_file(const std::filesystem::path& file);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// XXH3-128 of a file's bytes. Throws DataError naming the file.
std::string checksum_file(const std::filesystem::path& file);
/// The same checksum over bytes in memory (a memory-mapped shard).
std::string checksum_bytes(const void* data, std::size_t size);
/// XXH3-128 over every regular file below `dir` (relative names and contents, sorted by name).
std::string fingerprint_folder(const std::filesystem::path& dir);

}  // namespace anvil::core
