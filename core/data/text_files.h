#pragma once
// Plain-text corpus files as a stream of documents for tokenizer training, read in bounded
// chunks so a corpus of any size streams through constant memory.

#include <anvil/tokenizer.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace anvil::core {

/// Reads files one after another and yields chunks of about `chunk_bytes`, each ending at a
/// line break (a chunk only ends inside a line when the line alone is longer than 4 chunks).
/// Throws DataError naming the file when one is missing or unreadable.
class TextFileSource final : public TextSource {
 public:
  explicit TextFileSource(std::vector<std::filesystem::path> files,
                          std::size_t chunk_bytes = 1 << 20);
  bool next(std::string& document) override;

  /// Sum of the files' sizes (for progress).
  std::uint64_t total_bytes() const noexcept { return total_bytes_; }
  /// Bytes handed out so far.
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  /// Called after each chunk with bytes_read().
  void on_progress(std::function<void(std::uint64_t)> callback) { progress_ = std::move(callback); }

 private:
  bool open_next_file();
  std::vector<std::filesystem::path> files_;
  std::size_t chunk_bytes_;
  std::size_t next_file_ = 0;
  std::ifstream in_;
  std::string carry_;  // bytes after the last line break of the previous read
  std::uint64_t total_bytes_ = 0;
  std::uint64_t bytes_read_ = 0;
  std::function<void(std::uint64_t)> progress_;
};

}  // namespace anvil::core
