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
#include <limits>
#include <string>
#include <system_error>

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

/// Open addressing with linear probing; an all-zero slot is empty, so the (astronomically
/// unlikely) all-zero hash is remembered by a flag instead.
struct ExactIndex::Table {
  std::vector<DocumentHash> slots = std::vector<DocumentHash>(1024);
  std::size_t size = 0;
  bool has_zero = false;

  bool insert_slot(const DocumentHash& hash) {
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash.low & mask;; i = (i + 1) & mask) {
      if (slots[i] == hash) return false;
      if (slots[i] == DocumentHash{}) {
        slots[i] = hash;
        return true;
      }
    }
  }

  void grow() {
    std::vector<DocumentHash> old(slots.size() * 2);
    old.swap(slots);
    for (const DocumentHash& hash : old) {
      if (!(hash == DocumentHash{})) insert_slot(hash);
    }
  }
};

ExactIndex::ExactIndex() : table_(std::make_unique<Table>()) {}
ExactIndex::~ExactIndex() = default;

bool ExactIndex::insert(const DocumentHash& hash) {
  Table& table = *table_;
  if (hash == DocumentHash{}) {
    if (table.has_zero) return false;
    table.has_zero = true;
    ++table.size;
    return true;
  }
  if ((table.size + 1) * 10 > table.slots.size() * 7) table.grow();
  if (!table.insert_slot(hash)) return false;
  ++table.size;
  return true;
}

std::size_t ExactIndex::size() const noexcept { return table_->size; }

std::size_t ExactIndex::memory_bytes() const noexcept {
  return sizeof(Table) + table_->slots.capacity() * sizeof(DocumentHash);
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

// ---- near duplicates -----------------------------------------------------------------------

namespace {

constexpr std::uint32_t kNoDocument = std::numeric_limits<std::uint32_t>::max();

/// Multimap band key -> document: open addressing with linear probing over parallel arrays
/// (12 bytes an entry). Equal keys sit in one probe run, so a lookup walks to the first empty
/// slot.
class BandTable {
 public:
  void insert(std::uint64_t key, std::uint32_t document) {
    if ((size_ + 1) * 10 > keys_.size() * 7) grow();
    place(key, document);
    ++size_;
  }

  void find(std::uint64_t key, std::vector<std::uint32_t>& documents) const {
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t i = key & mask; documents_[i] != kNoDocument; i = (i + 1) & mask) {
      if (keys_[i] == key) documents.push_back(documents_[i]);
    }
  }

  std::size_t memory_bytes() const noexcept {
    return keys_.capacity() * sizeof(std::uint64_t) + documents_.capacity() * sizeof(std::uint32_t);
  }

 private:
  std::vector<std::uint64_t> keys_ = std::vector<std::uint64_t>(1024);
  std::vector<std::uint32_t> documents_ = std::vector<std::uint32_t>(1024, kNoDocument);
  std::size_t size_ = 0;

  void place(std::uint64_t key, std::uint32_t document) {
    const std::size_t mask = keys_.size() - 1;
    std::size_t i = key & mask;
    while (documents_[i] != kNoDocument) i = (i + 1) & mask;
    keys_[i] = key;
    documents_[i] = document;
  }

  void grow() {
    std::vector<std::uint64_t> old_keys(keys_.size() * 2);
    std::vector<std::uint32_t> old_documents(documents_.size() * 2, kNoDocument);
    old_keys.swap(keys_);
    old_documents.swap(documents_);
    for (std::size_t i = 0; i < old_keys.size(); ++i) {
      if (old_documents[i] != kNoDocument) place(old_keys[i], old_documents[i]);
    }
  }
};

/// The signatures of stored documents: appended to a scratch file read back with pread, or in
/// memory when there is no file.
class SignatureStore {
 public:
  SignatureStore(std::filesystem::path file, std::size_t length)
      : path_(std::move(file)), length_(length) {
    if (path_.empty()) return;
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      throw DataError("cannot create the near-duplicate scratch file '" + path_.string() +
                      "': " + system_message(errno));
    }
  }

  ~SignatureStore() {
    if (fd_ < 0) return;
    ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  SignatureStore(const SignatureStore&) = delete;
  SignatureStore& operator=(const SignatureStore&) = delete;

  std::size_t size() const noexcept { return count_; }

  void append(const std::uint32_t* signature) {
    if (fd_ < 0) {
      memory_.insert(memory_.end(), signature, signature + length_);
    } else {
      write_at(signature, offset_of(count_));
    }
    ++count_;
  }

  /// The stored signature of `document`; `buffer` holds it when it comes from the file.
  const std::uint32_t* get(std::uint32_t document, std::vector<std::uint32_t>& buffer) const {
    if (fd_ < 0) return memory_.data() + std::size_t{document} * length_;
    buffer.resize(length_);
    read_at(buffer.data(), offset_of(document));
    return buffer.data();
  }

  std::size_t memory_bytes() const noexcept { return memory_.capacity() * sizeof(std::uint32_t); }

 private:
  std::filesystem::path path_;
  std::size_t length_;
  int fd_ = -1;
  std::size_t count_ = 0;
  std::vector<std::uint32_t> memory_;

  off_t offset_of(std::size_t document) const {
    return static_cast<off_t>(document * length_ * sizeof(std::uint32_t));
  }

  void write_at(const std::uint32_t* signature, off_t offset) {
    const char* data = reinterpret_cast<const char*>(signature);
    std::size_t left = length_ * sizeof(std::uint32_t);
    while (left > 0) {
      const ssize_t written = ::pwrite(fd_, data, left, offset);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        throw DataError("cannot write the near-duplicate scratch file '" + path_.string() +
                        "': " + system_message(written < 0 ? errno : EIO),
                        "check the free space of its folder");
      }
      data += written;
      offset += written;
      left -= static_cast<std::size_t>(written);
    }
  }

  void read_at(std::uint32_t* signature, off_t offset) const {
    char* data = reinterpret_cast<char*>(signature);
    std::size_t left = length_ * sizeof(std::uint32_t);
    while (left > 0) {
      const ssize_t got = ::pread(fd_, data, left, offset);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        throw DataError("cannot read back the near-duplicate scratch file '" + path_.string() +
                        "': " + (got < 0 ? system_message(errno) : "it is shorter than written"));
      }
      data += got;
      offset += got;
      left -= static_cast<std::size_t>(got);
    }
  }
};

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

}  // namespace

struct NearDuplicateIndex::Impl {
  std::size_t permutations;
  std::size_t bands;
  std::size_t rows;
  double threshold;
  BandTable table;
  SignatureStore signatures;
  std::uint64_t candidates_checked = 0;
  // Reused across calls: one thread fills the index.
  std::vector<std::uint64_t> keys;
  std::vector<std::uint32_t> candidates;
  std::vector<std::uint32_t> stored;

  Impl(int permutation_count, int band_count, double min_jaccard, std::filesystem::path scratch)
      : permutations(static_cast<std::size_t>(permutation_count)),
        bands(static_cast<std::size_t>(band_count)),
        rows(permutations / bands),
        threshold(min_jaccard),
        signatures(std::move(scratch), permutations) {}

  void band_keys(const std::uint32_t* signature) {
    keys.resize(bands);
    for (std::size_t band = 0; band < bands; ++band) {
      keys[band] = XXH3_64bits_withSeed(signature + band * rows, rows * sizeof(std::uint32_t),
                                        band);
    }
  }

  /// Documents sharing a band, each once, oldest first.
  void collect_candidates() {
    candidates.clear();
    for (const std::uint64_t key : keys) table.find(key, candidates);
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }

  bool confirmed(const std::uint32_t* signature) {
    for (const std::uint32_t document : candidates) {
      ++candidates_checked;
      const std::uint32_t* other = signatures.get(document, stored);
      if (estimated_jaccard(other, signature, permutations) >= threshold) return true;
    }
    return false;
  }

  void store(const std::uint32_t* signature) {
    if (signatures.size() >= kNoDocument) {
      throw DataError("near-duplicate detection holds at most " + std::to_string(kNoDocument) +
                      " documents", "split the corpus, or turn near-duplicate detection off");
    }
    const auto document = static_cast<std::uint32_t>(signatures.size());
    signatures.append(signature);
    for (const std::uint64_t key : keys) table.insert(key, document);
  }
};

NearDuplicateIndex::NearDuplicateIndex(int permutations, int bands, double threshold,
                                       std::filesystem::path scratch_file) {
  check_lsh_options(permutations, bands, threshold);
  impl_ = std::make_unique<Impl>(permutations, bands, threshold, std::move(scratch_file));
}

NearDuplicateIndex::~NearDuplicateIndex() = default;

bool NearDuplicateIndex::check_and_insert(const std::vector<std::uint32_t>& signature) {
  Impl& impl = *impl_;
  if (signature.size() != impl.permutations) {
    throw Error("a MinHash signature of " + std::to_string(signature.size()) +
                " values was given to a near-duplicate index of " +
                std::to_string(impl.permutations) + " permutations");
  }
  impl.band_keys(signature.data());
  impl.collect_candidates();
  if (impl.confirmed(signature.data())) return true;
  impl.store(signature.data());
  return false;
}

std::size_t NearDuplicateIndex::size() const noexcept { return impl_->signatures.size(); }

std::uint64_t NearDuplicateIndex::candidates_checked() const noexcept {
  return impl_->candidates_checked;
}

std::size_t NearDuplicateIndex::memory_bytes() const noexcept {
  const Impl& impl = *impl_;
  return impl.table.memory_bytes() + impl.signatures.memory_bytes() +
         (impl.keys.capacity() * sizeof(std::uint64_t)) +
         (impl.candidates.capacity() + impl.stored.capacity()) * sizeof(std::uint32_t);
}

}  // namespace anvil::core
