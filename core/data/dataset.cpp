#include "data/dataset.h"

#include <anvil/errors.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <map>
#include <system_error>

namespace fs = std::filesystem;

namespace anvil::core {

namespace {

constexpr const char* kIncompleteHint = "the dataset is incomplete; run anvil data prepare again";
constexpr const char* kDamagedHint = "the dataset is damaged; run anvil data prepare again";

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

/// A whole file mapped read-only; empty files are not mapped (mmap rejects length 0).
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const fs::path& path, std::uint64_t expected_size) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == ENOENT) throw DataError(quoted(path) + " is missing", kIncompleteHint);
      throw DataError("cannot open " + quoted(path) + ": " + std::generic_category().message(error));
    }
    try {
      map(fd, path, expected_size);
    } catch (...) {
      ::close(fd);
      throw;
    }
    // The mapping keeps the file alive; the descriptor is no longer needed.
    ::close(fd);
  }
  ~MappedFile() { unmap(); }
  MappedFile(MappedFile&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MappedFile& operator=(MappedFile&& other) noexcept {
    if (this != &other) {
      unmap();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  const unsigned char* data() const noexcept { return static_cast<const unsigned char*>(data_); }
  std::size_t size() const noexcept { return size_; }
  void advise(int advice) const noexcept {
    if (data_ != nullptr) ::madvise(data_, size_, advice);
  }

 private:
  void map(int fd, const fs::path& path, std::uint64_t expected_size) {
    struct stat info {};
    if (::fstat(fd, &info) != 0)
      throw DataError("cannot read " + quoted(path) + ": " + std::generic_category().message(errno));
    const auto actual = static_cast<std::uint64_t>(info.st_size);
    if (actual != expected_size)
      throw DataError(quoted(path) + (actual < expected_size ? " is truncated" : " has the wrong size") +
                          ": expected " + std::to_string(expected_size) + " bytes, found " +
                          std::to_string(actual),
                      kIncompleteHint);
    if (actual == 0) return;
    void* data = ::mmap(nullptr, actual, PROT_READ, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED)
      throw DataError("cannot map " + quoted(path) + ": " + std::generic_category().message(errno));
    data_ = data;
    size_ = actual;
  }
  void unmap() noexcept {
    if (data_ != nullptr) ::munmap(data_, size_);
  }

  void* data_ = nullptr;
  std::size_t size_ = 0;
};

void verify_checksum(const MappedFile& file, const fs::path& path, const std::string& expected) {
  const std::string actual = checksum_bytes(file.data(), file.size());
  if (actual != expected)
    throw DataError(quoted(path) + ": checksum mismatch: expected " + expected + ", got " + actual,
                    kDamagedHint);
}

/// Offsets must start at 0, never decrease and end at the shard's token count; anything else
/// would hand out token ranges outside the shard.
void verify_index(const std::uint64_t* offsets, std::uint64_t documents, std::uint64_t tokens,
                  const fs::path& path) {
  auto fail = [&](const std::string& problem) {
    throw DataError(quoted(path) + " does not match its tokens file: " + problem, kDamagedHint);
  };
  if (offsets[0] != 0) fail("the first offset is " + std::to_string(offsets[0]) + ", not 0");
  for (std::uint64_t d = 1; d <= documents; ++d)
    if (offsets[d] < offsets[d - 1])
      fail("offset " + std::to_string(d) + " (" + std::to_string(offsets[d]) + ") is smaller than offset " +
           std::to_string(d - 1) + " (" + std::to_string(offsets[d - 1]) + ")");
  if (offsets[documents] != tokens)
    fail("the last offset is " + std::to_string(offsets[documents]) + ", not the shard's " +
         std::to_string(tokens) + " tokens");
}

struct MappedShard {
  MappedFile tokens;
  MappedFile index;
};

template <class T>
void widen(const unsigned char* shard, std::uint64_t offset, std::size_t count, std::int64_t* out) {
  const T* in = reinterpret_cast<const T*>(shard) + offset;
  for (std::size_t i = 0; i < count; ++i) out[i] = in[i];
}

}  // namespace

// --- TokenStream ---

struct TokenStream::Impl {
  TokenType type = TokenType::uint16;
  std::vector<MappedShard> shards;
  // Where each shard starts in the stream; one more entry than shards, the last the total.
  std::vector<std::uint64_t> token_starts{0};
  std::vector<std::uint64_t> document_starts{0};

  /// The shard holding position `position` of a stream whose prefix sums are `starts`.
  static std::size_t shard_at(const std::vector<std::uint64_t>& starts, std::uint64_t position) {
    return static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), position) -
                                    starts.begin()) -
           1;
  }
};

TokenStream::TokenStream() : impl_(new Impl) {}
TokenStream::~TokenStream() = default;
TokenStream::TokenStream(TokenStream&&) noexcept = default;
TokenStream& TokenStream::operator=(TokenStream&&) noexcept = default;

std::uint64_t TokenStream::size() const noexcept { return impl_->token_starts.back(); }
std::uint64_t TokenStream::documents() const noexcept { return impl_->document_starts.back(); }

void TokenStream::read(std::uint64_t begin, std::size_t count, std::int64_t* out) const {
  const Impl& impl = *impl_;
  ANVIL_CHECK(begin <= size() && count <= size() - begin, "TokenStream::read(", begin, ", ", count,
              ") beyond the stream's ", size(), " tokens");
  if (count == 0) return;
  for (std::size_t shard = Impl::shard_at(impl.token_starts, begin); count > 0; ++shard) {
    const std::uint64_t offset = begin - impl.token_starts[shard];
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(count, impl.token_starts[shard + 1] - begin));
    const unsigned char* tokens = impl.shards[shard].tokens.data();
    if (impl.type == TokenType::uint16)
      widen<std::uint16_t>(tokens, offset, n, out);
    else
      widen<std::uint32_t>(tokens, offset, n, out);
    out += n;
    begin += n;
    count -= n;
  }
}

std::pair<std::uint64_t, std::uint64_t> TokenStream::document(std::uint64_t d) const {
  const Impl& impl = *impl_;
  ANVIL_CHECK(d < documents(), "TokenStream::document(", d, ") beyond the stream's ", documents(),
              " documents");
  const std::size_t shard = Impl::shard_at(impl.document_starts, d);
  const auto* offsets = reinterpret_cast<const std::uint64_t*>(impl.shards[shard].index.data());
  const std::uint64_t local = d - impl.document_starts[shard];
  const std::uint64_t start = impl.token_starts[shard];
  return {start + offsets[local], start + offsets[local + 1]};
}

// --- Dataset ---

struct Dataset::Impl {
  fs::path dir;
  DatasetInfo info;
  std::map<std::string, TokenStream, std::less<>> splits;
};

namespace {

MappedShard open_shard(const fs::path& dir, const ShardInfo& shard, TokenType type, bool verify) {
  const fs::path tokens_path = dir / shard.tokens_file;
  const fs::path index_path = dir / shard.index_file;
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  if (shard.tokens > max / token_bytes(type) || shard.documents >= max / 8)
    throw DataError(quoted(dir / kDatasetInfoFile) + " describes " + quoted(tokens_path) +
                        " with impossible counts (" + std::to_string(shard.documents) + " documents, " +
                        std::to_string(shard.tokens) + " tokens)",
                    kDamagedHint);

  MappedShard mapped{MappedFile(tokens_path, shard.tokens * token_bytes(type)),
                     MappedFile(index_path, (shard.documents + 1) * 8)};
  if (verify) {
    verify_checksum(mapped.tokens, tokens_path, shard.tokens_checksum);
    verify_checksum(mapped.index, index_path, shard.index_checksum);
  }
  verify_index(reinterpret_cast<const std::uint64_t*>(mapped.index.data()), shard.documents, shard.tokens,
               index_path);
  // Training reads short windows at random positions: read-ahead would only waste I/O.
  mapped.tokens.advise(MADV_RANDOM);
  return mapped;
}

// The shards are only meaningful with the exact tokenizer that made them.
void check_tokenizer(const fs::path& dir, const TokenizerIdentity& tokenizer) {
  const fs::path folder = dir / kDatasetTokenizerDir;
  if (!fs::is_directory(folder))
    throw DataError("the dataset " + quoted(dir) + " has no tokenizer folder " + quoted(folder),
                    "the dataset is incomplete; run anvil data prepare again");
  const std::string found = fingerprint_folder(folder);
  if (found != tokenizer.fingerprint)
    throw DataError("the tokenizer in " + quoted(folder) +
                        " is not the one that made the shards (fingerprint " + found +
                        ", dataset.json says " + tokenizer.fingerprint + ")",
                    "the dataset is damaged; run anvil data prepare again");
}

}  // namespace

Dataset::Dataset() : impl_(new Impl) {}
Dataset::~Dataset() = default;
Dataset::Dataset(Dataset&&) noexcept = default;
Dataset& Dataset::operator=(Dataset&&) noexcept = default;

Dataset Dataset::open(const fs::path& dir, OpenOptions options) {
  std::error_code error;
  if (!fs::is_directory(dir, error))
    throw DataError("the dataset folder " + quoted(dir) + " does not exist",
                    "run anvil data prepare to create it, or check the path");
  Dataset dataset;
  Impl& impl = *dataset.impl_;
  impl.dir = dir;
  impl.info = read_dataset_info(dir);
  if (options.verify_checksums) check_tokenizer(dir, impl.info.tokenizer);
  for (const auto& [name, split] : impl.info.splits) {
    TokenStream stream;
    TokenStream::Impl& stream_impl = *stream.impl_;
    stream_impl.type = impl.info.token_type;
    for (const ShardInfo& shard : split.shards) {
      stream_impl.shards.push_back(open_shard(dir, shard, impl.info.token_type, options.verify_checksums));
      stream_impl.token_starts.push_back(stream_impl.token_starts.back() + shard.tokens);
      stream_impl.document_starts.push_back(stream_impl.document_starts.back() + shard.documents);
    }
    impl.splits.emplace(name, std::move(stream));
  }
  return dataset;
}

const DatasetInfo& Dataset::info() const noexcept { return impl_->info; }
const fs::path& Dataset::dir() const noexcept { return impl_->dir; }

bool Dataset::has_split(std::string_view name) const {
  return impl_->splits.find(name) != impl_->splits.end();
}

const TokenStream& Dataset::split(std::string_view name) const {
  const auto it = impl_->splits.find(name);
  if (it != impl_->splits.end()) return it->second;
  std::string present;
  for (const auto& [split_name, stream] : impl_->splits)
    present += (present.empty() ? "" : ", ") + split_name;
  throw DataError("the dataset " + quoted(impl_->dir) + " has no split '" + std::string(name) +
                      "' (it has: " + (present.empty() ? "none" : present) + ")",
                  "prepare the dataset with that split, or use one of the splits it has");
}

}  // namespace anvil::core
