#include <anvil/errors.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "data/dedup.h"
#include "support/temp_dir.h"

using anvil::core::DocumentHash;
using anvil::core::ExactIndex;
using anvil::core::MinHasher;
using anvil::core::NearDuplicateIndex;

namespace {

using Words = std::vector<std::string>;
using Signature = std::vector<std::uint32_t>;

std::string random_word(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> length(3, 9), letter('a', 'z');
  std::string word(static_cast<std::size_t>(length(rng)), ' ');
  for (char& c : word) c = static_cast<char>(letter(rng));
  return word;
}

Words random_words(std::mt19937_64& rng, std::size_t count) {
  Words words;
  for (std::size_t i = 0; i < count; ++i) words.push_back(random_word(rng));
  return words;
}

/// `count` words that occur nowhere else: "<prefix><n>".
Words unique_words(const std::string& prefix, std::size_t count) {
  Words words;
  for (std::size_t i = 0; i < count; ++i) words.push_back(prefix + std::to_string(i));
  return words;
}

Words concat(Words a, const Words& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string join(const Words& words) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

/// The exact Jaccard similarity of the two documents' sets of `shingle`-word shingles.
double shingle_jaccard(const Words& a, const Words& b, std::size_t shingle) {
  const auto shingles = [shingle](const Words& words) {
    std::set<std::string> set;
    for (std::size_t i = 0; i + shingle <= words.size(); ++i) {
      set.insert(join(Words(words.begin() + static_cast<long>(i),
                            words.begin() + static_cast<long>(i + shingle))));
    }
    return set;
  };
  const std::set<std::string> sa = shingles(a), sb = shingles(b);
  std::size_t common = 0;
  for (const std::string& s : sa) common += sb.count(s);
  return static_cast<double>(common) / static_cast<double>(sa.size() + sb.size() - common);
}

/// Two documents of 450 five-word shingles each that share exactly 300: Jaccard 0.5.
std::pair<Words, Words> half_similar_pair() {
  const Words common = unique_words("c", 304);
  return {concat(common, unique_words("a", 150)), concat(common, unique_words("b", 150))};
}

Signature signature_of(const MinHasher& hasher, const std::string& text) {
  Signature signature;
  hasher.signature(text, signature);
  return signature;
}

double estimate(const Signature& a, const Signature& b) {
  REQUIRE(a.size() == b.size());
  return anvil::core::estimated_jaccard(a.data(), b.data(), a.size());
}

}  // namespace

TEST_CASE("document hash is the XXH3 128-bit hash of the text", "[data][dedup]") {
  const std::string text = "the same text";
  const XXH128_hash_t expected = XXH3_128bits(text.data(), text.size());
  const DocumentHash hash = anvil::core::hash_document(text);
  CHECK(hash.low == expected.low64);
  CHECK(hash.high == expected.high64);
  CHECK(anvil::core::hash_document(std::string("the same text")) == hash);
  CHECK_FALSE(anvil::core::hash_document("the same text.") == hash);
}

TEST_CASE("exact index inserts each hash once, across growth", "[data][dedup]") {
  std::mt19937_64 rng(42);
  std::vector<DocumentHash> hashes(100000);
  for (DocumentHash& hash : hashes) hash = {rng(), rng()};

  ExactIndex index;
  const std::size_t empty_memory = index.memory_bytes();
  for (const DocumentHash& hash : hashes) REQUIRE(index.insert(hash));
  CHECK(index.size() == hashes.size());
  for (const DocumentHash& hash : hashes) REQUIRE_FALSE(index.insert(hash));
  CHECK(index.size() == hashes.size());

  // Same low half, different high half: a different document.
  CHECK(index.insert({hashes[0].low, hashes[0].high + 1}));
  // The all-zero hash is a hash like any other.
  CHECK(index.insert({0, 0}));
  CHECK_FALSE(index.insert({0, 0}));
  CHECK(index.size() == hashes.size() + 2);

  CHECK(index.memory_bytes() > empty_memory);
  CHECK(index.memory_bytes() >= hashes.size() * sizeof(DocumentHash));
  CHECK(index.memory_bytes() <= hashes.size() * 48);
}

TEST_CASE("minhash signatures depend on the words and the seed only", "[data][dedup]") {
  const MinHasher hasher(5, 128, 7);
  const std::string text = "one two three four five six seven eight nine ten";
  const Signature signature = signature_of(hasher, text);
  REQUIRE(signature.size() == 128);
  CHECK(hasher.permutations() == 128);
  CHECK(signature_of(hasher, text) == signature);
  CHECK(signature_of(MinHasher(5, 128, 7), text) == signature);
  CHECK(signature_of(hasher, "  one two\nthree\tfour five six  seven eight nine ten\n") ==
        signature);

  const Signature other_seed = signature_of(MinHasher(5, 128, 8), text);
  CHECK(estimate(signature, other_seed) < 0.1);
  CHECK(signature_of(hasher, "one two three four five six seven eight nine eleven") !=
        signature);
}

namespace {

/// The signature as documented, computed the slow and obvious way: a_i, b_i from a splitmix64
/// stream of the seed, shingle hashes XXH3_64bits_withSeed(words joined by single spaces),
/// h_i = (a_i * x + b_i) mod 2^61-1, low 32 bits of the minimum.
Signature reference_signature(const Words& words, std::size_t shingle, int permutations,
                              std::uint64_t seed) {
  __extension__ typedef unsigned __int128 Uint128;
  constexpr std::uint64_t p = (std::uint64_t{1} << 61) - 1;
  std::uint64_t state = seed;
  const auto next = [&state] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  std::vector<std::uint64_t> shingles;
  const std::size_t per_shingle = std::min(shingle, words.size());
  for (std::size_t i = 0; i + per_shingle <= words.size(); ++i) {
    const std::string joined = join(Words(words.begin() + static_cast<long>(i),
                                          words.begin() + static_cast<long>(i + per_shingle)));
    shingles.push_back(XXH3_64bits_withSeed(joined.data(), joined.size(), seed) % p);
  }
  Signature signature;
  for (int i = 0; i < permutations; ++i) {
    const std::uint64_t a = next() % (p - 1) + 1;
    const std::uint64_t b = next() % p;
    std::uint64_t min = p;
    for (const std::uint64_t x : shingles) {
      min = std::min(min, static_cast<std::uint64_t>((static_cast<Uint128>(a) * x + b) % p));
    }
    signature.push_back(static_cast<std::uint32_t>(min));
  }
  return signature;
}

}  // namespace

TEST_CASE("minhash signature follows the documented formula", "[data][dedup]") {
  std::mt19937_64 rng(99);
  const MinHasher hasher(5, 100, 0xabc);
  // Word counts around multiples of four shingles; gaps of one space, several, and newlines.
  for (const std::size_t count : {1, 4, 5, 6, 7, 8, 9, 12, 13, 40}) {
    const Words words = random_words(rng, count);
    std::string text;
    for (std::size_t i = 0; i < words.size(); ++i) {
      text += words[i] + (i % 7 == 3 ? "\n" : i % 5 == 1 ? "  " : " ");
    }
    INFO("words: " << count);
    CHECK(signature_of(hasher, text) == reference_signature(words, 5, 100, 0xabc));
  }
}

TEST_CASE("minhash of short and empty documents", "[data][dedup]") {
  const MinHasher hasher(5, 64, 1);
  CHECK(signature_of(hasher, "") == Signature(64, 0xFFFFFFFFu));
  CHECK(signature_of(hasher, " \n\t ") == Signature(64, 0xFFFFFFFFu));

  // Fewer words than a shingle: one shingle of all of them.
  const Signature two_words = signature_of(hasher, "hello world");
  CHECK(two_words != Signature(64, 0xFFFFFFFFu));
  CHECK(signature_of(hasher, "hello \n world") == two_words);
  CHECK(estimate(two_words, signature_of(hasher, "hello world again")) < 0.1);
  CHECK(estimate(two_words, signature_of(hasher, "world hello")) < 0.1);
}

TEST_CASE("minhash estimates a known Jaccard similarity", "[data][dedup]") {
  const auto [a, b] = half_similar_pair();
  REQUIRE(shingle_jaccard(a, b, 5) == 0.5);
  const MinHasher hasher(5, 256, 0x5eed);
  const double estimated = estimate(signature_of(hasher, join(a)), signature_of(hasher, join(b)));
  CHECK(estimated == Approx(0.5).margin(0.1));

  // Disjoint documents.
  const Signature c = signature_of(hasher, join(unique_words("x", 300)));
  CHECK(estimate(signature_of(hasher, join(a)), c) < 0.05);
}

TEST_CASE("minhash refuses bad parameters", "[data][dedup]") {
  CHECK_THROWS_AS(MinHasher(0, 128, 1), anvil::Error);
  CHECK_THROWS_AS(MinHasher(5, 0, 1), anvil::Error);
}

TEST_CASE("estimated Jaccard is the share of equal positions", "[data][dedup]") {
  const std::uint32_t a[] = {1, 2, 3, 4};
  const std::uint32_t b[] = {1, 0, 3, 0};
  CHECK(anvil::core::estimated_jaccard(a, b, 4) == 0.5);
  CHECK(anvil::core::estimated_jaccard(a, a, 4) == 1.0);
}

namespace {

struct PlantedCorpus {
  std::vector<std::string> documents;
  std::set<std::size_t> planted;  ///< indexes of the near copies
};

/// 50 random documents, then in a shuffled order 10 near copies of some of them (2 or 3
/// consecutive words replaced, Jaccard > 0.9) and 10 unrelated documents.
PlantedCorpus planted_corpus() {
  std::mt19937_64 rng(20240601);
  std::vector<Words> bases;
  for (int i = 0; i < 50; ++i) bases.push_back(random_words(rng, 190 + rng() % 21));

  std::vector<std::pair<std::string, bool>> tail;
  for (std::size_t i = 0; i < 10; ++i) {
    const Words& base = bases[i * 5];
    Words copy = base;
    const std::size_t changed = 2 + rng() % 2;
    const std::size_t at = 20 + rng() % 150;
    for (std::size_t k = 0; k < changed; ++k) copy[at + k] = random_word(rng);
    REQUIRE(shingle_jaccard(base, copy, 5) > 0.9);
    tail.emplace_back(join(copy), true);
  }
  for (int i = 0; i < 10; ++i) tail.emplace_back(join(random_words(rng, 200)), false);
  std::shuffle(tail.begin(), tail.end(), rng);

  PlantedCorpus corpus;
  for (const Words& base : bases) corpus.documents.push_back(join(base));
  for (const auto& [text, planted] : tail) {
    if (planted) corpus.planted.insert(corpus.documents.size());
    corpus.documents.push_back(text);
  }
  return corpus;
}

std::set<std::size_t> flagged_documents(NearDuplicateIndex& index,
                                        const std::vector<std::string>& documents) {
  const MinHasher hasher(5, 128, 0x5eed);
  std::set<std::size_t> flagged;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (index.check_and_insert(signature_of(hasher, documents[i]))) flagged.insert(i);
  }
  return flagged;
}

}  // namespace

TEST_CASE("near-duplicate index flags exactly the planted near copies", "[data][dedup]") {
  const PlantedCorpus corpus = planted_corpus();
  REQUIRE(corpus.documents.size() == 70);
  REQUIRE(corpus.planted.size() == 10);

  SECTION("signatures in memory") {
    NearDuplicateIndex index(128, 16, 0.8);
    CHECK(flagged_documents(index, corpus.documents) == corpus.planted);
    CHECK(index.size() == 60);
    CHECK(index.candidates_checked() >= 10);
    CHECK(index.memory_bytes() >= 60 * 128 * sizeof(std::uint32_t));
  }
  SECTION("signatures in a scratch file") {
    anvil::test::TempDir dir("anvil_dedup");
    const std::filesystem::path scratch = dir.path / "signatures.bin";
    {
      NearDuplicateIndex index(128, 16, 0.8, scratch);
      CHECK(flagged_documents(index, corpus.documents) == corpus.planted);
      CHECK(index.size() == 60);
      CHECK(index.candidates_checked() >= 10);
      CHECK(std::filesystem::file_size(scratch) == 60 * 128 * sizeof(std::uint32_t));
      CHECK(index.memory_bytes() < 60 * 128 * sizeof(std::uint32_t));
    }
    CHECK_FALSE(std::filesystem::exists(scratch));
  }
}

TEST_CASE("near-duplicate index confirms candidates against the threshold", "[data][dedup]") {
  const auto [a, b] = half_similar_pair();
  const MinHasher hasher(5, 128, 0x5eed);
  const Signature sa = signature_of(hasher, join(a)), sb = signature_of(hasher, join(b));

  // 64 bands of 2 rows: a pair at Jaccard 0.5 shares a band almost surely.
  NearDuplicateIndex strict(128, 64, 0.8);
  CHECK_FALSE(strict.check_and_insert(sa));
  CHECK_FALSE(strict.check_and_insert(sb));
  CHECK(strict.candidates_checked() == 1);
  CHECK(strict.size() == 2);

  NearDuplicateIndex loose(128, 64, 0.3);
  CHECK_FALSE(loose.check_and_insert(sa));
  CHECK(loose.check_and_insert(sb));
  CHECK(loose.size() == 1);

  // An identical signature is a duplicate at any threshold.
  NearDuplicateIndex exact(128, 16, 1.0);
  CHECK_FALSE(exact.check_and_insert(sa));
  CHECK(exact.check_and_insert(sa));
}

TEST_CASE("near-duplicate index refuses bad parameters", "[data][dedup]") {
  CHECK_THROWS_AS(NearDuplicateIndex(128, 10, 0.8), anvil::Error);
  CHECK_THROWS_AS(NearDuplicateIndex(128, 0, 0.8), anvil::Error);
  CHECK_THROWS_AS(NearDuplicateIndex(128, 256, 0.8), anvil::Error);
  CHECK_THROWS_AS(NearDuplicateIndex(0, 1, 0.8), anvil::Error);
  CHECK_THROWS_AS(NearDuplicateIndex(128, 16, 1.5), anvil::Error);

  NearDuplicateIndex index(128, 16, 0.8);
  CHECK_THROWS_AS(index.check_and_insert(Signature(64, 1)), anvil::Error);

  anvil::test::TempDir dir("anvil_dedup");
  CHECK_THROWS_AS(NearDuplicateIndex(128, 16, 0.8, dir.path / "missing" / "scratch.bin"),
                  anvil::DataError);
}
