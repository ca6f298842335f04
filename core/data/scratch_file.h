#pragma once
// The cleaned, deduplicated documents between the two passes of `anvil data prepare`, on disk
// rather than in memory: records of [split: 1 byte][length: 4 bytes LE][text].

#include "data/dedup.h"
#include "data/prepare.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace anvil::core {

enum class ScratchSplit : std::uint8_t { train = 0, valid = 1 };

class ScratchWriter {
 public:
  explicit ScratchWriter(std::filesystem::path path);
  void append(ScratchSplit split, const std::string& text);
  /// Flushes; throws DataError naming the file on a write error (a full disk).
  void finish();
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  std::vector<char> buffer_;
};

class ScratchReader {
 public:
  explicit ScratchReader(std::filesystem::path path);
  /// The next record; false at the end. Throws DataError on a truncated record.
  bool next(ScratchSplit& split, std::string& text);
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  std::uint64_t total_bytes() const noexcept { return total_bytes_; }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  std::vector<char> buffer_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t total_bytes_ = 0;
};

/// The outcome of pass 1: every cleaned document in the scratch file, and for each (by
/// position) whether it is a duplicate and whether it belongs to the validation split.
struct CleanedCorpus {
  std::filesystem::path scratch;
  std::vector<DuplicateFinder::Verdict> verdicts;
  std::vector<bool> valid;
};

/// The kept training documents of a cleaned corpus, for training the tokenizer on them.
class ScratchTrainSource final : public TextSource {
 public:
  ScratchTrainSource(const CleanedCorpus& corpus, const PrepareProgress& progress);
  bool next(std::string& document) override;

 private:
  const CleanedCorpus& corpus_;
  ScratchReader reader_;
  std::uint64_t document_ = 0;
  const PrepareProgress& progress_;
  std::uint64_t next_report_ = 0;
};

}  // namespace anvil::core
