#include "data/text_files.h"

#include <anvil/errors.h>

#include <system_error>

namespace fs = std::filesystem;

namespace anvil::core {

TextFileSource::TextFileSource(std::vector<fs::path> files, std::size_t chunk_bytes)
    : files_(std::move(files)), chunk_bytes_(chunk_bytes) {
  for (const fs::path& file : files_) {
    std::error_code error;
    const auto size = fs::file_size(file, error);
    if (error)
      throw DataError("cannot read corpus file '" + file.string() + "': " + error.message(),
                      "check the path (a relative path in a manifest is relative to the file that sets it)");
    total_bytes_ += size;
  }
}

bool TextFileSource::open_next_file() {
  in_.close();
  if (next_file_ >= files_.size()) return false;
  const fs::path& file = files_[next_file_++];
  in_.open(file, std::ios::binary);
  if (!in_) throw DataError("cannot open corpus file '" + file.string() + "'");
  return true;
}

bool TextFileSource::next(std::string& document) {
  document.clear();
  while (true) {
    if (!in_.is_open() || in_.eof()) {
      // A file's last bytes end a document: documents never span two files.
      if (!carry_.empty()) {
        document.swap(carry_);
        carry_.clear();
        break;
      }
      if (!open_next_file()) return false;
    }
    std::string buffer(chunk_bytes_, '\0');
    in_.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    buffer.resize(static_cast<std::size_t>(in_.gcount()));
    if (in_.bad()) throw DataError("error while reading corpus file '" + files_[next_file_ - 1].string() + "'");
    carry_ += buffer;
    if (in_.eof()) continue;  // hand the whole rest of the file out above
    const std::size_t cut = carry_.rfind('\n');
    if (cut == std::string::npos && carry_.size() < 4 * chunk_bytes_) continue;
    const std::size_t end = cut == std::string::npos ? carry_.size() : cut + 1;
    document.assign(carry_, 0, end);
    carry_.erase(0, end);
    break;
  }
  bytes_read_ += document.size();
  if (progress_) progress_(bytes_read_);
  return true;
}

}  // namespace anvil::core
