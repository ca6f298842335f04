#pragma once
// Writes gzip- and zstd-compressed files for tests of the corpus readers.

#include <catch2/catch.hpp>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace anvil::test {

inline void write_gzip(const std::filesystem::path& file, const std::string& bytes) {
  gzFile out = gzopen(file.c_str(), "wb");
  REQUIRE(out);
  REQUIRE(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(out) == Z_OK);
}

inline void write_zstd(const std::filesystem::path& file, const std::string& bytes) {
  std::string compressed(ZSTD_compressBound(bytes.size()), '\0');
  const std::size_t size =
      ZSTD_compress(compressed.data(), compressed.size(), bytes.data(), bytes.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(size));
  compressed.resize(size);
  std::ofstream(file, std::ios::binary) << compressed;
}

}  // namespace anvil::test
