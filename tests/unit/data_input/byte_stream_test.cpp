#include "data/byte_stream.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace fs = std::filesystem;
using anvil::core::ByteStream;
using anvil::core::Compression;

namespace {

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One gzip member per element: appending with mode "ab" starts a new member, like `cat a.gz b.gz`.
void write_gzip(const fs::path& file, const std::vector<std::string>& members) {
  bool first = true;
  for (const std::string& member : members) {
    gzFile out = gzopen(file.c_str(), first ? "wb" : "ab");
    REQUIRE(out);
    REQUIRE(gzwrite(out, member.data(), static_cast<unsigned>(member.size())) ==
            static_cast<int>(member.size()));
    REQUIRE(gzclose(out) == Z_OK);
    first = false;
  }
}

// One zstd frame per element, concatenated.
void write_zstd(const fs::path& file, const std::vector<std::string>& frames) {
  std::string bytes;
  for (const std::string& frame : frames) {
    std::string compressed(ZSTD_compressBound(frame.size()), '\0');
    const std::size_t size =
        ZSTD_compress(compressed.data(), compressed.size(), frame.data(), frame.size(), 3);
    REQUIRE_FALSE(ZSTD_isError(size));
    bytes.append(compressed, 0, size);
  }
  write_bytes(file, bytes);
}

// Everything the stream yields, `chunk` bytes at a time.
std::string read_all(ByteStream& stream, std::size_t chunk) {
  std::string result;
  std::vector<char> buffer(chunk);
  while (const std::size_t count = stream.read(buffer.data(), buffer.size()))
    result.append(buffer.data(), count);
  CHECK(stream.read(buffer.data(), buffer.size()) == 0);  // the end stays the end
  return result;
}

// Text that compresses but not to nothing, long enough to cross the 1 MiB input buffer.
std::string sample_text(std::size_t bytes) {
  std::string text;
  std::uint32_t state = 12345;
  while (text.size() < bytes) {
    state = state * 1664525u + 1013904223u;
    text += "line " + std::to_string(state % 100000) + (state % 7 == 0 ? "\n\n" : "\n");
  }
  return text;
}

std::string error_message(const fs::path& file, std::size_t chunk = 4096) {
  try {
    auto stream = ByteStream::open(file);
    read_all(*stream, chunk);
  } catch (const anvil::DataError& error) {
    return error.what();
  }
  FAIL("no DataError for " << file);
  return {};
}

}  // namespace

TEST_CASE("Compression is told by magic numbers, not names", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  write_bytes(dir.path / "plain.gz", "hello");
  write_gzip(dir.path / "packed.txt", {"hello"});
  write_zstd(dir.path / "packed.bin", {"hello"});
  write_bytes(dir.path / "empty", "");
  write_bytes(dir.path / "one", "\x1f");
  CHECK(anvil::core::detect_compression(dir.path / "plain.gz") == Compression::none);
  CHECK(anvil::core::detect_compression(dir.path / "packed.txt") == Compression::gzip);
  CHECK(anvil::core::detect_compression(dir.path / "packed.bin") == Compression::zstd);
  CHECK(anvil::core::detect_compression(dir.path / "empty") == Compression::none);
  CHECK(anvil::core::detect_compression(dir.path / "one") == Compression::none);
  CHECK(anvil::core::to_string(Compression::none) == "none");
  CHECK(anvil::core::to_string(Compression::gzip) == "gzip");
  CHECK(anvil::core::to_string(Compression::zstd) == "zstd");
}

TEST_CASE("A missing file is an error naming it", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path missing = dir.path / "missing.txt";
  const std::string expected =
      "cannot open corpus file '" + missing.string() + "': No such file or directory";
  CHECK_THROWS_WITH(anvil::core::detect_compression(missing), expected);
  CHECK_THROWS_WITH(ByteStream::open(missing), expected);
}

TEST_CASE("A plain file is read as is", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path file = dir.path / "plain.txt";
  const std::string text = sample_text(3 << 20);
  write_bytes(file, text);
  auto stream = ByteStream::open(file);
  CHECK(stream->path() == file);
  CHECK(stream->file_bytes_read() == 0);
  CHECK(read_all(*stream, 1000) == text);
  CHECK(stream->file_bytes_read() == text.size());
}

TEST_CASE("An empty plain file reads as nothing", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  write_bytes(dir.path / "empty.txt", "");
  auto stream = ByteStream::open(dir.path / "empty.txt");
  CHECK(read_all(*stream, 16).empty());
  CHECK(stream->file_bytes_read() == 0);
}

TEST_CASE("Concatenated gzip members read as one stream", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path file = dir.path / "two.gz";
  write_gzip(file, {"first member\n", "second member\n"});
  for (const std::size_t chunk : {1, 5, 4096}) {
    auto stream = ByteStream::open(file);
    CHECK(read_all(*stream, chunk) == "first member\nsecond member\n");
    CHECK(stream->file_bytes_read() == fs::file_size(file));
  }
}

TEST_CASE("A gzip file larger than the input buffer reads whole", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path file = dir.path / "big.gz";
  const std::string first = sample_text(5 << 20);
  const std::string second = sample_text(1 << 20);
  write_gzip(file, {first, second});
  REQUIRE(fs::file_size(file) > (1 << 20));
  auto stream = ByteStream::open(file);
  CHECK(read_all(*stream, 65536) == first + second);
  CHECK(stream->file_bytes_read() == fs::file_size(file));
}

TEST_CASE("Concatenated zstd frames read as one stream", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path file = dir.path / "two.zst";
  write_zstd(file, {"first frame\n", "", "second frame\n"});
  for (const std::size_t chunk : {1, 5, 4096}) {
    auto stream = ByteStream::open(file);
    CHECK(read_all(*stream, chunk) == "first frame\nsecond frame\n");
    CHECK(stream->file_bytes_read() == fs::file_size(file));
  }
}

TEST_CASE("A zstd file larger than the input buffer reads whole", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path file = dir.path / "big.zst";
  const std::string first = sample_text(6 << 20);
  const std::string second = sample_text(1 << 20);
  write_zstd(file, {first, second});
  REQUIRE(fs::file_size(file) > (1 << 20));
  auto stream = ByteStream::open(file);
  CHECK(read_all(*stream, 65536) == first + second);
  CHECK(stream->file_bytes_read() == fs::file_size(file));
}

TEST_CASE("A truncated gzip file is an error naming it", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path file = dir.path / "cut.gz";
  write_gzip(file, {sample_text(100000)});
  const std::string whole = read_bytes(file);
  const std::string expected = "'" + file.string() + "': truncated gzip stream";
  for (const std::size_t keep : {whole.size() - 4, whole.size() / 2, std::size_t{12}}) {
    write_bytes(file, whole.substr(0, keep));
    CHECK(error_message(file) == expected);
  }
  write_gzip(file, {"complete\n"});
  write_bytes(file, read_bytes(file) + whole.substr(0, whole.size() / 2));
  CHECK(error_message(file) == expected);  // a cut second member
}

TEST_CASE("A truncated zstd file is an error naming it", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path file = dir.path / "cut.zst";
  write_zstd(file, {sample_text(100000)});
  const std::string whole = read_bytes(file);
  const std::string expected = "'" + file.string() + "': truncated zstd stream";
  for (const std::size_t keep : {whole.size() - 1, whole.size() / 2, std::size_t{4}}) {
    write_bytes(file, whole.substr(0, keep));
    CHECK(error_message(file) == expected);
  }
  write_zstd(file, {"complete\n"});
  write_bytes(file, read_bytes(file) + whole.substr(0, whole.size() / 2));
  CHECK(error_message(file) == expected);  // a cut second frame
}

TEST_CASE("Corrupt compressed data is an error naming the file", "[data_input]") {
  anvil::test::TempDir dir("anvil_bytes");
  const fs::path gz = dir.path / "bad.gz";
  write_gzip(gz, {sample_text(100000)});
  std::string bytes = read_bytes(gz);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x55);
  write_bytes(gz, bytes);
  CHECK_THAT(error_message(gz), Catch::StartsWith("'" + gz.string() + "': corrupt gzip stream ("));

  const fs::path zst = dir.path / "bad.zst";
  write_bytes(zst, "\x28\xb5\x2f\xfd" + std::string(64, '\xff'));  // reserved header bits set
  CHECK_THAT(error_message(zst),
             Catch::StartsWith("'" + zst.string() + "': corrupt zstd stream ("));
}
