#include "io/checksum.h"

#include <anvil/errors.h>

#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <new>
#include <system_error>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

constexpr std::size_t kReadChunkBytes = std::size_t{1} << 20;

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

/// High 64 bits then low 64 bits, as lowercase hex.
std::string to_hex(XXH128_hash_t hash) {
  char text[33];
  std::snprintf(text, sizeof text, "%016" PRIx64 "%016" PRIx64, static_cast<std::uint64_t>(hash.high64),
                static_cast<std::uint64_t>(hash.low64));
  return text;
}

}  // namespace

struct Checksum::State {
  XXH3_state_t* xxh = nullptr;
};

Checksum::Checksum() : state_(std::make_unique<State>()) {
  state_->xxh = XXH3_createState();
  if (state_->xxh == nullptr) throw std::bad_alloc();
  XXH3_128bits_reset(state_->xxh);
}

Checksum::~Checksum() { XXH3_freeState(state_->xxh); }

void Checksum::update(const void* data, std::size_t size) { XXH3_128bits_update(state_->xxh, data, size); }

std::string Checksum::hex() const { return to_hex(XXH3_128bits_digest(state_->xxh)); }

std::uint64_t Checksum::update_with_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError("cannot open " + quoted(file) + " to compute its checksum");
  std::vector<char> buffer(kReadChunkBytes);
  std::uint64_t total = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    update(buffer.data(), got);
    total += got;
  }
  if (in.bad()) throw DataError("error while reading " + quoted(file) + " to compute its checksum");
  return total;
}

std::string checksum_file(const fs::path& file) {
  Checksum checksum;
  checksum.update_with_file(file);
  return checksum.hex();
}

std::string checksum_bytes(const void* data, std::size_t size) { return to_hex(XXH3_128bits(data, size)); }

std::string fingerprint_folder(const fs::path& dir) {
  std::error_code error;
  std::vector<std::pair<std::string, fs::path>> files;
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
    if (it->is_regular_file())
      files.emplace_back(it->path().lexically_relative(dir).generic_string(), it->path());
  if (error) throw DataError("cannot list the folder " + quoted(dir) + ": " + error.message());
  std::sort(files.begin(), files.end());

  Checksum checksum;
  for (const auto& [name, path] : files) {
    // The name and size delimit each file, so moving bytes between files changes the hash.
    checksum.update(name.c_str(), name.size() + 1);
    std::uint64_t size = fs::file_size(path, error);
    if (error) throw DataError("cannot read " + quoted(path) + ": " + error.message());
    checksum.update(&size, sizeof size);
    if (checksum.update_with_file(path) != size)
      throw DataError(quoted(path) + " changed while its folder was being fingerprinted");
  }
  return checksum.hex();
}

}  // namespace anvil::core
