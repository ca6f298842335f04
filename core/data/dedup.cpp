#include "data/dedup.h"

#include <anvil/errors.h>
#include <fcntl.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define XXH_INLINE_ALL  // shingles are short: inlining the hash matters
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <tuple>
#include <unordered_set>

namespace anvil::core {
namespace {

__extension__ typedef unsigned __int128 Uint128;

constexpr std::uint64_t kMersenne61 = (std::uint64_t{1} << 61) - 1;

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t mod_mersenne61(std::uint64_t x) {
  const std::uint64_t folded = (x & kMersenne61) + (x >> 61);
  return folded >= kMersenne61 ? folded - kMersenne61 : folded;
}

/// (a*x + b) mod 2^61-1 for a, x, b < 2^61-1. The product is below P*2^61, so one fold leaves
/// less than 2P and one conditional subtraction finishes.
inline std::uint64_t permute(std::uint64_t a, std::uint64_t b, std::uint64_t x) {
  const Uint128 v = static_cast<Uint128>(a) * x + b;
  const std::uint64_t folded =
      (static_cast<std::uint64_t>(v) & kMersenne61) + static_cast<std::uint64_t>(v >> 61);
  return folded >= kMersenne61 ? folded - kMersenne61 : folded;
}

/// Each word of `text` (runs of bytes above 0x20: the text is cleaned already).
void split_words(std::string_view text, std::vector<std::string_view>& words) {
  words.clear();
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && static_cast<unsigned char>(text[i]) <= 0x20) ++i;
    const std::size_t begin = i;
    while (i < text.size() && static_cast<unsigned char>(text[i]) > 0x20) ++i;
    if (i > begin) words.push_back(text.substr(begin, i - begin));
  }
}

/// Whether exactly one space separates word `j` from the next, as in a joined shingle.
bool single_space_after(const std::vector<std::string_view>& words, std::size_t j) {
  const char* end = words[j].data() + words[j].size();
  return words[j + 1].data() == end + 1 && *end == ' ';
}

/// Hashes of the shingles (reduced mod 2^61-1), each over its words joined by single spaces.
/// Where the text already separates a shingle's words by single spaces it is hashed in place;
/// only the others are joined, in one reused buffer.
void shingle_hashes(const std::vector<std::string_view>& words, std::size_t shingle,
                    std::uint64_t seed, std::vector<std::uint64_t>& hashes) {
  hashes.clear();
  if (words.empty()) return;
  std::string joined;
  const std::size_t per_shingle = std::min(shingle, words.size());
  std::size_t irregular = 0;  // gaps in the current shingle that are not one space
  for (std::size_t j = 0; j + 1 < per_shingle; ++j) irregular += !single_space_after(words, j);
  for (std::size_t first = 0;; ++first) {
    const char* begin = words[first].data();
    const std::string_view last = words[first + per_shingle - 1];
    std::string_view text(begin, static_cast<std::size_t>(last.data() + last.size() - begin));
    if (irregular > 0) {
      joined.assign(words[first]);
      for (std::size_t k = 1; k < per_shingle; ++k) joined.append(" ").append(words[first + k]);
      text = joined;
    }
    hashes.push_back(mod_mersenne61(XXH3_64bits_withSeed(text.data(), text.size(), seed)));
    if (first + per_shingle == words.size()) return;
    if (per_shingle > 1) {
      irregular -= !single_space_after(words, first);
      irregular += !single_space_after(words, first + per_shingle - 1);
    }
  }
}

/// Low 32 bits of each permutation's minimum over the shingle hashes `x`.
void minima_scalar(const std::uint64_t* a, const std::uint64_t* b, std::size_t count,
                   const std::vector<std::uint64_t>& x, std::uint32_t* out) {
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t min = kMersenne61;
    for (const std::uint64_t value : x) min = std::min(min, permute(a[i], b[i], value));
    out[i] = static_cast<std::uint32_t>(min);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define ANVIL_MINHASH_AVX2 1

/// permute() in four 64-bit lanes. AVX2 multiplies 32 by 32 bits only, so a and x are split at
/// bit 32 (the high parts have 29 bits) and the partial products are folded with 2^64 = 8 and
/// 2^61 = 1 (mod P); every sum stays below 2^63, so signed compares are safe.
__attribute__((target("avx2"))) inline __m256i permute_avx2(__m256i a_low, __m256i a_high,
                                                            __m256i b, __m256i x) {
  const __m256i p = _mm256_set1_epi64x(static_cast<long long>(kMersenne61));
  const __m256i low29 = _mm256_set1_epi64x((1 << 29) - 1);
  const __m256i x_high = _mm256_srli_epi64(x, 32);
  const __m256i low = _mm256_mul_epu32(a_low, x);                       // < 2^64
  const __m256i high = _mm256_mul_epu32(a_high, x_high);                // < 2^58, times 2^64
  const __m256i mid = _mm256_add_epi64(_mm256_mul_epu32(a_low, x_high),  // < 2^62, times 2^32
                                       _mm256_mul_epu32(a_high, x));
  __m256i sum = _mm256_add_epi64(_mm256_and_si256(low, p), _mm256_srli_epi64(low, 61));
  sum = _mm256_add_epi64(sum, _mm256_slli_epi64(high, 3));
  sum = _mm256_add_epi64(sum, _mm256_srli_epi64(mid, 29));
  sum = _mm256_add_epi64(sum, _mm256_slli_epi64(_mm256_and_si256(mid, low29), 32));
  sum = _mm256_add_epi64(sum, b);
  sum = _mm256_add_epi64(_mm256_and_si256(sum, p), _mm256_srli_epi64(sum, 61));  // <= P + 3
  const __m256i reduced = _mm256_sub_epi64(sum, p);
  // Keep `sum` where subtracting P went negative (sign bit set).
  return _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(reduced),
                                              _mm256_castsi256_pd(sum),
                                              _mm256_castsi256_pd(reduced)));
}

__attribute__((target("avx2"))) void minima_avx2(const std::uint64_t* a, const std::uint64_t* b,
                                                 std::size_t count,
                                                 const std::vector<std::uint64_t>& x,
                                                 std::uint32_t* out) {
  // The last group of four is padded with the last hash: a repeat does not change a minimum.
  const std::size_t full = x.size() / 4 * 4;
  std::uint64_t tail[4];
  for (std::size_t k = 0; k < 4; ++k) tail[k] = x[std::min(full + k, x.size() - 1)];
  const __m256i tail_x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tail));
  for (std::size_t i = 0; i < count; ++i) {
    const __m256i a_low = _mm256_set1_epi64x(static_cast<long long>(a[i] & 0xFFFFFFFF));
    const __m256i a_high = _mm256_set1_epi64x(static_cast<long long>(a[i] >> 32));
    const __m256i bi = _mm256_set1_epi64x(static_cast<long long>(b[i]));
    __m256i min = permute_avx2(a_low, a_high, bi, tail_x);
    for (std::size_t j = 0; j < full; j += 4) {
      const __m256i xj = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.data() + j));
      const __m256i value = permute_avx2(a_low, a_high, bi, xj);
      min = _mm256_blendv_epi8(min, value, _mm256_cmpgt_epi64(min, value));
    }
    alignas(32) std::uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), min);
    out[i] = static_cast<std::uint32_t>(*std::min_element(lanes, lanes + 4));
  }
}
#endif

/// Permutation-major, so the inner loop runs over a small array of shingle hashes; about twice
/// as fast in AVX2 lanes where the CPU has them.
void permutation_minima(const std::uint64_t* a, const std::uint64_t* b, std::size_t count,
                        const std::vector<std::uint64_t>& x, std::uint32_t* out) {
#ifdef ANVIL_MINHASH_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return minima_avx2(a, b, count, x, out);
#endif
  minima_scalar(a, b, count, x, out);
}

std::string system_message(int error) { return std::system_category().message(error); }

}  // namespace

// ---- exact duplicates ----------------------------------------------------------------------

DocumentHash hash_document(std::string_view text) {
  const XXH128_hash_t hash = XXH3_128bits(text.data(), text.size());
  return DocumentHash{hash.low64, hash.high64};
}

// ---- MinHash -------------------------------------------------------------------------------

MinHasher::MinHasher(int shingle, int permutations, std::uint64_t seed)
    : shingle_(shingle), permutations_(permutations), seed_(seed) {
  if (shingle < 1) {
    throw Error("MinHash shingle size must be at least 1 word, got " + std::to_string(shingle));
  }
  if (permutations < 1) {
    throw Error("MinHash needs at least 1 permutation, got " + std::to_string(permutations));
  }
  std::uint64_t state = seed;
  a_.resize(static_cast<std::size_t>(permutations));
  b_.resize(static_cast<std::size_t>(permutations));
  for (std::size_t i = 0; i < a_.size(); ++i) {
    a_[i] = splitmix64(state) % (kMersenne61 - 1) + 1;  // a = 0 would map everything to b
    b_[i] = splitmix64(state) % kMersenne61;
  }
}

void MinHasher::signature(std::string_view text, std::vector<std::uint32_t>& out) const {
  const auto count = static_cast<std::size_t>(permutations_);
  out.assign(count, std::numeric_limits<std::uint32_t>::max());
  std::vector<std::string_view> words;
  std::vector<std::uint64_t> hashes;
  split_words(text, words);
  shingle_hashes(words, static_cast<std::size_t>(shingle_), seed_, hashes);
  if (!hashes.empty()) permutation_minima(a_.data(), b_.data(), count, hashes, out.data());
}

double estimated_jaccard(const std::uint32_t* a, const std::uint32_t* b, std::size_t n) {
  if (n == 0) return 0.0;
  std::size_t equal = 0;
  for (std::size_t i = 0; i < n; ++i) equal += a[i] == b[i];
  return static_cast<double>(equal) / static_cast<double>(n);
}

// ---- duplicate finder ----------------------------------------------------------------------

namespace {

constexpr std::uint64_t kMaxDocuments = (std::uint64_t{1} << 32) - 2;  // ids fit in uint32
constexpr std::uint64_t kBytesPerPartition = std::uint64_t{4} << 20;   // of corpus
constexpr std::size_t kMaxPartitions = 256;                            // of each kind
constexpr std::size_t kWriteBuffer = std::size_t{16} << 10;

/// One document's 128-bit hash, in an exact partition.
struct ExactRecord {
  std::uint64_t low;
  std::uint64_t high;
  std::uint32_t document;
  std::uint32_t unused;  // written as zero: no uninitialized bytes go to the file
};

/// One document's key in one LSH band, in a band partition.
struct BandRecord {
  std::uint64_t key;
  std::uint32_t document;
  std::uint32_t band;
};

static_assert(sizeof(ExactRecord) == 24 && sizeof(BandRecord) == 16, "records are padded");

void check_lsh_options(int permutations, int bands, double threshold) {
  if (permutations < 1) {
    throw Error("near-duplicate detection needs at least 1 permutation, got " +
                std::to_string(permutations));
  }
  if (bands < 1 || bands > permutations) {
    throw Error("near-duplicate detection needs between 1 and " + std::to_string(permutations) +
                " bands (the permutations), got " + std::to_string(bands));
  }
  if (permutations % bands != 0) {
    throw Error("MinHash permutations (" + std::to_string(permutations) +
                ") must be a multiple of the LSH bands (" + std::to_string(bands) + ")");
  }
  if (!(threshold >= 0.0 && threshold <= 1.0)) {
    throw Error("near-duplicate threshold must be between 0 and 1, got " +
                std::to_string(threshold));
  }
}

/// log2 of the number of partitions of each kind: one per 4 MiB of corpus, rounded up to a
/// power of two, from 1 to 256.
int partition_bits(std::uint64_t expected_bytes) {
  const std::uint64_t wanted = expected_bytes / kBytesPerPartition;
  int bits = 0;
  while ((std::uint64_t{1} << bits) < wanted && (std::size_t{1} << bits) < kMaxPartitions) ++bits;
  return bits;
}

/// The partition of a well-mixed 64-bit value: its top `bits` bits.
std::size_t partition_of(std::uint64_t mixed, int bits) {
  return bits == 0 ? 0 : static_cast<std::size_t>(mixed >> (64 - bits));
}

/// A scratch file in the work folder: appended through a small buffer with write(2), read
/// back with pread(2), removed on destruction.
class ScratchFile {
 public:
  explicit ScratchFile(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      const int error = errno;
      throw DataError("cannot create the deduplication scratch file '" + path_.string() +
                          "': " + system_message(error),
                      error == EMFILE || error == ENFILE
                          ? "raise the limit of open files (ulimit -n): deduplication keeps up "
                            "to 513 files open"
                          : "check that the work folder exists and is writable");
    }
  }

  ~ScratchFile() {
    ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  /// Bytes appended so far, flushed or not.
  std::uint64_t size() const noexcept { return size_; }

  void append(const void* data, std::size_t bytes) {
    if (buffer_.empty()) buffer_.resize(kWriteBuffer);  // files never appended to take none
    if (used_ + bytes > buffer_.size()) {
      flush();
      if (bytes > buffer_.size()) {
        write_all(static_cast<const char*>(data), bytes);
        size_ += bytes;
        return;
      }
    }
    std::memcpy(buffer_.data() + used_, data, bytes);
    used_ += bytes;
    size_ += bytes;
  }

  /// Writes the buffer out and, with `release`, frees it (no more appends are coming).
  void flush(bool release = false) {
    write_all(buffer_.data(), used_);
    used_ = 0;
    if (release) std::vector<char>().swap(buffer_);
  }

  /// Reads `bytes` at `offset` of the flushed contents.
  void read_at(void* out, std::size_t bytes, std::uint64_t offset) const {
    char* data = static_cast<char*>(out);
    while (bytes > 0) {
      const ssize_t got = ::pread(fd_, data, bytes, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        throw DataError("cannot read back the deduplication scratch file '" + path_.string() +
                        "': " + (got < 0 ? system_message(errno) : "it is shorter than written"));
      }
      data += got;
      offset += static_cast<std::uint64_t>(got);
      bytes -= static_cast<std::size_t>(got);
    }
  }

  /// The whole file as records of type T (`records` is reused: its capacity stays).
  template <class T>
  void read_all(std::vector<T>& records) const {
    records.resize(static_cast<std::size_t>(size_ / sizeof(T)));
    read_at(records.data(), records.size() * sizeof(T), 0);
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::uint64_t size_ = 0;

  void write_all(const char* data, std::size_t bytes) {
    while (bytes > 0) {
      const ssize_t written = ::write(fd_, data, bytes);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        throw DataError("cannot write the deduplication scratch file '" + path_.string() +
                            "': " + system_message(written < 0 ? errno : EIO),
                        "check the free space of its folder: deduplication writes up to 24 + 16 * "
                        "bands + 4 * permutations bytes a document there");
      }
      data += written;
      bytes -= static_cast<std::size_t>(written);
    }
  }
};

using ScratchFiles = std::vector<std::unique_ptr<ScratchFile>>;

/// `count` files "dedup-<kind>-000.bin", ... in `folder`.
ScratchFiles create_partitions(const std::filesystem::path& folder, const char* kind,
                               std::size_t count) {
  ScratchFiles files;
  files.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "dedup-%s-%03zu.bin", kind, i);
    files.push_back(std::make_unique<ScratchFile>(folder / name));
  }
  return files;
}

}  // namespace

struct DuplicateFinder::Impl {
  DedupOptions options;
  std::size_t permutations = 0;
  std::size_t rows = 0;  // per band
  int bits = 0;          // log2 of the partitions of each kind
  ScratchFiles exact_files, band_files;
  std::unique_ptr<ScratchFile> signatures;
  std::uint64_t documents = 0;
  bool resolved = false;

  Impl(const DedupOptions& dedup, const std::filesystem::path& work_dir,
       std::uint64_t expected_bytes)
      : options(dedup), bits(partition_bits(expected_bytes)) {
    const std::size_t partitions = std::size_t{1} << bits;
    if (options.exact) exact_files = create_partitions(work_dir, "exact", partitions);
    if (options.near) {
      permutations = static_cast<std::size_t>(options.permutations);
      rows = permutations / static_cast<std::size_t>(options.bands);
      band_files = create_partitions(work_dir, "band", partitions);
      signatures = std::make_unique<ScratchFile>(work_dir / "dedup-signatures.bin");
    }
  }

  std::uint64_t signature_offset(std::uint32_t document) const {
    return std::uint64_t{document} * permutations * sizeof(std::uint32_t);
  }

  void flush() {
    for (auto& file : exact_files) file->flush(true);
    for (auto& file : band_files) file->flush(true);
    if (signatures) signatures->flush(true);
  }

  /// In each group of equal hashes, every document but the first is an exact duplicate.
  void sweep_exact(Result& result) {
    std::vector<ExactRecord> records;
    for (const auto& file : exact_files) {
      file->read_all(records);
      result.largest_partition_bytes =
          std::max(result.largest_partition_bytes, records.size() * sizeof(ExactRecord));
      std::sort(records.begin(), records.end(), [](const ExactRecord& a, const ExactRecord& b) {
        return std::tie(a.low, a.high, a.document) < std::tie(b.low, b.high, b.document);
      });
      for (std::size_t i = 1; i < records.size(); ++i) {
        if (records[i].low == records[i - 1].low && records[i].high == records[i - 1].high) {
          result.verdicts[records[i].document] = Verdict::exact_duplicate;
        }
      }
    }
  }

  /// In each group of documents sharing a band key, exact duplicates left out, every later
  /// document similar enough to the first is a near duplicate. A pair found dissimilar is not
  /// compared again in the same partition (pairs sharing several bands meet several times).
  void sweep_near(Result& result) {
    std::vector<BandRecord> records;
    std::unordered_set<std::uint64_t> dissimilar;  // (reference << 32 | document), this partition
    std::vector<std::uint32_t> reference(permutations), candidate(permutations);
    const auto before = [](const BandRecord& a, const BandRecord& b) {
      return std::tie(a.band, a.key, a.document) < std::tie(b.band, b.key, b.document);
    };
    for (const auto& file : band_files) {
      file->read_all(records);
      result.largest_partition_bytes =
          std::max(result.largest_partition_bytes, records.size() * sizeof(BandRecord));
      std::sort(records.begin(), records.end(), before);
      dissimilar.clear();
      for (std::size_t begin = 0, end = 0; begin < records.size(); begin = end) {
        end = begin + 1;
        while (end < records.size() && records[end].band == records[begin].band &&
               records[end].key == records[begin].key) {
          ++end;
        }
        if (end - begin < 2) continue;  // most groups: a key of one document
        std::size_t first = begin;
        while (first < end && result.verdicts[records[first].document] ==
                                  Verdict::exact_duplicate) {
          ++first;
        }
        bool have_reference = false;
        for (std::size_t i = first + 1; i < end; ++i) {
          const std::uint32_t document = records[i].document;
          if (result.verdicts[document] != Verdict::keep) continue;
          const std::uint64_t pair = std::uint64_t{records[first].document} << 32 | document;
          if (dissimilar.count(pair) != 0) continue;
          if (!have_reference) {
            signatures->read_at(reference.data(), permutations * sizeof(std::uint32_t),
                                signature_offset(records[first].document));
            have_reference = true;
          }
          ++result.candidates_checked;
          signatures->read_at(candidate.data(), permutations * sizeof(std::uint32_t),
                              signature_offset(document));
          if (estimated_jaccard(reference.data(), candidate.data(), permutations) >=
              options.threshold) {
            result.verdicts[document] = Verdict::near_duplicate;
          } else {
            dissimilar.insert(pair);
          }
        }
      }
    }
  }
};

DuplicateFinder::DuplicateFinder(const DedupOptions& options, std::filesystem::path work_dir,
                                 std::uint64_t expected_bytes) {
  if (options.near) check_lsh_options(options.permutations, options.bands, options.threshold);
  impl_ = std::make_unique<Impl>(options, work_dir, expected_bytes);
}

DuplicateFinder::~DuplicateFinder() = default;

void DuplicateFinder::add(const DocumentHash& hash, const std::vector<std::uint32_t>& signature) {
  Impl& impl = *impl_;
  if (impl.resolved) throw Error("a document was added to a resolved duplicate finder");
  if (impl.options.near && signature.size() != impl.permutations) {
    throw Error("a MinHash signature of " + std::to_string(signature.size()) +
                " values was given to a duplicate finder of " +
                std::to_string(impl.permutations) + " permutations");
  }
  if (impl.documents >= kMaxDocuments) {
    throw DataError("deduplication handles at most " + std::to_string(kMaxDocuments) +
                        " documents",
                    "split the corpus, or turn deduplication off");
  }
  const auto document = static_cast<std::uint32_t>(impl.documents);
  if (impl.options.exact) {
    std::uint64_t state = hash.low;  // splitmix64 is a bijection: equal hashes stay together
    const ExactRecord record{hash.low, hash.high, document, 0};
    impl.exact_files[partition_of(splitmix64(state), impl.bits)]->append(&record, sizeof record);
  }
  if (impl.options.near) {
    const std::size_t bands = static_cast<std::size_t>(impl.options.bands);
    const std::size_t band_bytes = impl.rows * sizeof(std::uint32_t);
    for (std::size_t band = 0; band < bands; ++band) {
      const BandRecord record{
          XXH3_64bits_withSeed(signature.data() + band * impl.rows, band_bytes, band), document,
          static_cast<std::uint32_t>(band)};
      impl.band_files[partition_of(record.key, impl.bits)]->append(&record, sizeof record);
    }
    impl.signatures->append(signature.data(), signature.size() * sizeof(std::uint32_t));
  }
  ++impl.documents;
}

std::uint64_t DuplicateFinder::documents() const noexcept { return impl_->documents; }

DuplicateFinder::Result DuplicateFinder::resolve() {
  Impl& impl = *impl_;
  if (impl.resolved) throw Error("a duplicate finder resolves its documents once only");
  impl.resolved = true;
  impl.flush();
  Result result;
  result.verdicts.assign(static_cast<std::size_t>(impl.documents), Verdict::keep);
  if (impl.options.exact || impl.options.near) result.partitions = std::size_t{1} << impl.bits;
  impl.sweep_exact(result);
  if (impl.options.near) impl.sweep_near(result);
  for (const Verdict verdict : result.verdicts) {
    result.exact += verdict == Verdict::exact_duplicate;
    result.near += verdict == Verdict::near_duplicate;
  }
  return result;
}

}  // namespace anvil::core
