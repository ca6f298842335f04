#include "data/scratch_file.h"

#include <anvil/errors.h>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {
constexpr std::size_t kBufferBytes = std::size_t{1} << 20;
}

ScratchWriter::ScratchWriter(fs::path path) : path_(std::move(path)), buffer_(kBufferBytes) {
  out_.rdbuf()->pubsetbuf(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw DataError("cannot create scratch file '" + path_.string() + "'");
}

void ScratchWriter::append(ScratchSplit split, const std::string& text) {
  if (text.size() > UINT32_MAX)
    throw DataError("a document of " + std::to_string(text.size()) +
                    " bytes is too large for the scratch file (4 GiB per document at most)");
  const auto length = static_cast<std::uint32_t>(text.size());
  const char header[5] = {static_cast<char>(split), static_cast<char>(length & 0xff),
                          static_cast<char>((length >> 8) & 0xff),
                          static_cast<char>((length >> 16) & 0xff),
                          static_cast<char>((length >> 24) & 0xff)};
  out_.write(header, sizeof header);
  out_.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void ScratchWriter::finish() {
  out_.flush();
  if (!out_)
    throw DataError("cannot write scratch file '" + path_.string() + "'",
                    "is the disk full? the scratch file holds the cleaned corpus");
  out_.close();
}

ScratchReader::ScratchReader(fs::path path) : path_(std::move(path)), buffer_(kBufferBytes) {
  in_.rdbuf()->pubsetbuf(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  in_.open(path_, std::ios::binary);
  if (!in_) throw DataError("cannot open scratch file '" + path_.string() + "'");
  total_bytes_ = fs::file_size(path_);
}

bool ScratchReader::next(ScratchSplit& split, std::string& text) {
  unsigned char header[5];
  in_.read(reinterpret_cast<char*>(header), sizeof header);
  if (in_.gcount() == 0) return false;
  if (in_.gcount() != sizeof header)
    throw DataError("scratch file '" + path_.string() + "' is truncated");
  split = static_cast<ScratchSplit>(header[0]);
  const std::uint32_t length = header[1] | (std::uint32_t{header[2]} << 8) |
                               (std::uint32_t{header[3]} << 16) | (std::uint32_t{header[4]} << 24);
  text.resize(length);
  in_.read(text.data(), static_cast<std::streamsize>(length));
  if (static_cast<std::uint32_t>(in_.gcount()) != length)
    throw DataError("scratch file '" + path_.string() + "' is truncated");
  bytes_read_ += sizeof header + length;
  return true;
}

ScratchTrainSource::ScratchTrainSource(const CleanedCorpus& corpus, const PrepareProgress& progress)
    : corpus_(corpus), reader_(corpus.scratch), progress_(progress) {}

bool ScratchTrainSource::next(std::string& document) {
  ScratchSplit split{};
  while (reader_.next(split, document)) {
    if (progress_ && reader_.bytes_read() >= next_report_) {
      progress_("train tokenizer", reader_.bytes_read(), reader_.total_bytes());
      next_report_ = reader_.bytes_read() + kBufferBytes;
    }
    const bool kept = corpus_.verdicts[document_++] == DuplicateFinder::Verdict::keep;
    if (kept && split == ScratchSplit::train) return true;
  }
  if (progress_) progress_("train tokenizer", reader_.bytes_read(), reader_.total_bytes());
  return false;
}

}  // namespace anvil::core
