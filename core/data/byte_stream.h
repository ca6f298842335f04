#pragma once
// Reading a corpus file whether it is plain, gzip- or zstd-compressed: the format is told by
// the file's first bytes (magic numbers), not its name.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

namespace anvil::core {

enum class Compression { none, gzip, zstd };

/// "none", "gzip" or "zstd".
std::string_view to_string(Compression compression);

/// The compression of `file`, from its magic number (gzip 1f 8b, zstd 28 b5 2f fd).
/// Throws DataError naming the file when it cannot be opened.
Compression detect_compression(const std::filesystem::path& file);

/// A sequential reader of a file's decompressed bytes.
class ByteStream {
 public:
  /// Opens `file`, choosing the decoder with detect_compression(). Throws DataError naming the
  /// file when it cannot be opened.
  static std::unique_ptr<ByteStream> open(const std::filesystem::path& file);

  virtual ~ByteStream() = default;
  /// Reads up to `size` decompressed bytes into `buffer`; returns how many, 0 only at the end.
  /// Concatenated gzip members and zstd frames are read as one stream. Throws DataError naming
  /// the file on an I/O error or a corrupt or truncated compressed stream.
  virtual std::size_t read(char* buffer, std::size_t size) = 0;
  /// Bytes of the file itself consumed so far (compressed bytes for compressed files), for
  /// progress against the file's size.
  virtual std::uint64_t file_bytes_read() const = 0;
  /// The file being read.
  virtual const std::filesystem::path& path() const = 0;
};

}  // namespace anvil::core
