#include "data/byte_stream.h"

#include <anvil/errors.h>

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

// Large reads keep the syscall and decoder-call overhead negligible next to decompression.
constexpr std::size_t kInputBufferBytes = std::size_t{1} << 20;

const char* const kTruncatedHint =
    "the file is incomplete (an interrupted download or copy?); fetch or compress it again";

std::string quoted(const fs::path& file) { return "'" + file.string() + "'"; }

/// The raw bytes of a file, with the count consumed.
class FileInput {
 public:
  explicit FileInput(const fs::path& file) : path_(file), handle_(std::fopen(file.c_str(), "rb")) {
    if (!handle_)
      throw DataError("cannot open corpus file " + quoted(file) + ": " + std::strerror(errno),
                      "check the path (a relative path in a manifest is relative to the file "
                      "that sets it)");
  }
  ~FileInput() { std::fclose(handle_); }
  FileInput(const FileInput&) = delete;
  FileInput& operator=(const FileInput&) = delete;

  /// Up to `size` bytes; fewer only at the end of the file.
  std::size_t read(void* buffer, std::size_t size) {
    const std::size_t count = std::fread(buffer, 1, size, handle_);
    if (count < size && std::ferror(handle_))
      throw DataError("error while reading corpus file " + quoted(path_) + ": " +
                      std::strerror(errno));
    bytes_read_ += count;
    return count;
  }
  std::uint64_t bytes_read() const { return bytes_read_; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::FILE* handle_;
  std::uint64_t bytes_read_ = 0;
};

class PlainStream final : public ByteStream {
 public:
  explicit PlainStream(const fs::path& file) : input_(file) {}
  std::size_t read(char* buffer, std::size_t size) override { return input_.read(buffer, size); }
  std::uint64_t file_bytes_read() const override { return input_.bytes_read(); }
  const fs::path& path() const override { return input_.path(); }

 private:
  FileInput input_;
};

class GzipStream final : public ByteStream {
 public:
  explicit GzipStream(const fs::path& file) : input_(file), in_(kInputBufferBytes) {
    // 15 + 32: the largest window, and a gzip (or zlib) header detected automatically.
    if (inflateInit2(&z_, 15 + 32) != Z_OK)
      throw DataError("cannot start decompressing " + quoted(file) + ": out of memory");
  }
  ~GzipStream() override { inflateEnd(&z_); }

  std::size_t read(char* buffer, std::size_t size) override {
    while (!done_ && size > 0) {
      if (z_.avail_in == 0) refill();
      z_.next_out = reinterpret_cast<Bytef*>(buffer);
      const auto chunk = static_cast<uInt>(std::min<std::size_t>(size, std::numeric_limits<uInt>::max()));
      z_.avail_out = chunk;
      const int status = inflate(&z_, Z_NO_FLUSH);
      const std::size_t produced = chunk - z_.avail_out;
      if (status == Z_STREAM_END)
        end_member();
      else if (status == Z_BUF_ERROR)  // no progress possible: the input ran out mid-member
        throw DataError(quoted(input_.path()) + ": truncated gzip stream", kTruncatedHint);
      else if (status != Z_OK)
        throw DataError(quoted(input_.path()) + ": corrupt gzip stream (" +
                        (z_.msg ? z_.msg : "error " + std::to_string(status)) + ")");
      if (produced > 0) return produced;
    }
    return 0;
  }
  std::uint64_t file_bytes_read() const override { return input_.bytes_read(); }
  const fs::path& path() const override { return input_.path(); }

 private:
  void refill() {
    z_.next_in = in_.data();
    z_.avail_in = static_cast<uInt>(input_.read(in_.data(), in_.size()));
  }
  // `gzip a b > c` and parallel compressors write several members: read on into the next one.
  void end_member() {
    if (z_.avail_in == 0) refill();
    if (z_.avail_in == 0)
      done_ = true;
    else
      inflateReset(&z_);
  }

  FileInput input_;
  std::vector<Bytef> in_;
  z_stream z_{};
  bool done_ = false;
};

class ZstdStream final : public ByteStream {
 public:
  explicit ZstdStream(const fs::path& file)
      : input_(file), in_(kInputBufferBytes), context_(ZSTD_createDCtx()) {
    if (!context_) throw DataError("cannot start decompressing " + quoted(file) + ": out of memory");
  }
  ~ZstdStream() override { ZSTD_freeDCtx(context_); }

  std::size_t read(char* buffer, std::size_t size) override {
    while (size > 0) {
      if (source_.pos == source_.size) {
        source_ = {in_.data(), input_.read(in_.data(), in_.size()), 0};
      }
      const std::size_t consumed_before = source_.pos;
      ZSTD_outBuffer out{buffer, size, 0};
      const std::size_t status = ZSTD_decompressStream(context_, &out, &source_);
      if (ZSTD_isError(status))
        throw DataError(quoted(input_.path()) + ": corrupt zstd stream (" +
                        ZSTD_getErrorName(status) + ")");
      // Called at a frame boundary with no input, the decoder reports the next header's size:
      // only a call that did something says where we stand.
      if (status == 0)
        frame_done_ = true;
      else if (source_.pos > consumed_before || out.pos > 0)
        frame_done_ = false;
      if (out.pos > 0) return out.pos;
      if (source_.pos == source_.size && source_.size == 0) {
        if (!frame_done_)
          throw DataError(quoted(input_.path()) + ": truncated zstd stream", kTruncatedHint);
        return 0;
      }
    }
    return 0;
  }
  std::uint64_t file_bytes_read() const override { return input_.bytes_read(); }
  const fs::path& path() const override { return input_.path(); }

 private:
  FileInput input_;
  std::vector<char> in_;
  ZSTD_inBuffer source_{nullptr, 0, 0};
  ZSTD_DCtx* context_;
  bool frame_done_ = false;
};

}  // namespace

std::string_view to_string(Compression compression) {
  switch (compression) {
    case Compression::gzip:
      return "gzip";
    case Compression::zstd:
      return "zstd";
    case Compression::none:
      break;
  }
  return "none";
}

Compression detect_compression(const fs::path& file) {
  FileInput input(file);
  unsigned char magic[4] = {};
  const std::size_t count = input.read(magic, sizeof magic);
  if (count >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Compression::gzip;
  if (count == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return Compression::zstd;
  return Compression::none;
}

std::unique_ptr<ByteStream> ByteStream::open(const fs::path& file) {
  switch (detect_compression(file)) {
    case Compression::gzip:
      return std::make_unique<GzipStream>(file);
    case Compression::zstd:
      return std::make_unique<ZstdStream>(file);
    case Compression::none:
      break;
  }
  return std::make_unique<PlainStream>(file);
}

}  // namespace anvil::core
