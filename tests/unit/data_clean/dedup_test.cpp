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

using anvil::core::DedupOptions;
using anvil::core::DocumentHash;
using anvil::core::DuplicateFinder;
using anvil::core::MinHasher;
using Verdict = anvil::core::DuplicateFinder::Verdict;

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


/// The names of the files in `folder`.
std::set<std::string> files_in(const std::filesystem::path& folder) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

/// Adds the documents to `finder`, hashed and (with options.near) MinHashed with `options`.
void add_documents(DuplicateFinder& finder, const DedupOptions& options,
                   const std::vector<std::string>& documents) {
  const MinHasher hasher(options.shingle, options.permutations, options.seed);
  for (const std::string& text : documents) {
    finder.add(anvil::core::hash_document(text),
               options.near ? signature_of(hasher, text) : Signature{});
  }
}

DuplicateFinder::Result find_duplicates(const DedupOptions& options,
                                        const std::vector<std::string>& documents,
                                        std::uint64_t expected_bytes = 0) {
  anvil::test::TempDir dir("anvil_dedup");
  DuplicateFinder finder(options, dir.path, expected_bytes);
  add_documents(finder, options, documents);
  return finder.resolve();
}

/// The positions of the documents with `verdict`.
std::set<std::size_t> positions_of(const std::vector<Verdict>& verdicts, Verdict verdict) {
  std::set<std::size_t> positions;
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    if (verdicts[i] == verdict) positions.insert(i);
  }
  return positions;
}

/// The planted corpus followed by exact repeats of documents 3, 0 (twice) and of the first
/// near copy; the positions of the repeats.
std::pair<std::vector<std::string>, std::set<std::size_t>> corpus_with_repeats(
    const PlantedCorpus& corpus) {
  std::vector<std::string> documents = corpus.documents;
  std::set<std::size_t> repeats;
  for (const std::size_t original : {std::size_t{3}, std::size_t{0}, *corpus.planted.begin(),
                                     std::size_t{0}}) {
    repeats.insert(documents.size());
    documents.push_back(corpus.documents[original]);
  }
  return {documents, repeats};
}

}  // namespace

TEST_CASE("duplicate finder flags exactly the planted near copies", "[data][dedup]") {
  const PlantedCorpus corpus = planted_corpus();
  REQUIRE(corpus.documents.size() == 70);
  REQUIRE(corpus.planted.size() == 10);

  anvil::test::TempDir dir("anvil_dedup");
  const DedupOptions options;
  {
    DuplicateFinder finder(options, dir.path, 0);
    add_documents(finder, options, corpus.documents);
    CHECK(finder.documents() == 70);
    const DuplicateFinder::Result result = finder.resolve();
    REQUIRE(result.verdicts.size() == 70);
    CHECK(positions_of(result.verdicts, Verdict::near_duplicate) == corpus.planted);
    CHECK(positions_of(result.verdicts, Verdict::keep).size() == 60);
    CHECK(result.exact == 0);
    CHECK(result.near == 10);
    CHECK(result.candidates_checked >= 10);
    CHECK(result.partitions == 1);
    // The largest partition: the band records, 16 bytes for each of 16 bands of 70 documents.
    CHECK(result.largest_partition_bytes == 70 * 16 * 16);

    CHECK(files_in(dir.path) == std::set<std::string>{"dedup-band-000.bin",
                                                      "dedup-exact-000.bin",
                                                      "dedup-signatures.bin"});
    CHECK(std::filesystem::file_size(dir.path / "dedup-signatures.bin") ==
          70 * 128 * sizeof(std::uint32_t));
  }
  CHECK(files_in(dir.path).empty());
}

TEST_CASE("duplicate finder keeps the first of exact duplicates", "[data][dedup]") {
  const PlantedCorpus corpus = planted_corpus();
  const auto [documents, repeats] = corpus_with_repeats(corpus);
  REQUIRE(documents.size() == 74);

  SECTION("exact and near") {
    const DuplicateFinder::Result result = find_duplicates(DedupOptions{}, documents);
    CHECK(positions_of(result.verdicts, Verdict::exact_duplicate) == repeats);
    // The repeat of a near copy is an exact duplicate only, counted once.
    CHECK(positions_of(result.verdicts, Verdict::near_duplicate) == corpus.planted);
    CHECK(result.exact == 4);
    CHECK(result.near == 10);
    CHECK(positions_of(result.verdicts, Verdict::keep).size() == 60);
    CHECK(result.verdicts[0] == Verdict::keep);
    CHECK(result.verdicts[3] == Verdict::keep);
  }
  SECTION("exact only") {
    DedupOptions options;
    options.near = false;
    const DuplicateFinder::Result result = find_duplicates(options, documents);
    CHECK(positions_of(result.verdicts, Verdict::exact_duplicate) == repeats);
    CHECK(positions_of(result.verdicts, Verdict::keep).size() == 70);
    CHECK(result.exact == 4);
    CHECK(result.near == 0);
    CHECK(result.candidates_checked == 0);
    CHECK(result.largest_partition_bytes == 74 * 24);
  }
  SECTION("near only: a repeat is a near duplicate of its original") {
    DedupOptions options;
    options.exact = false;
    const DuplicateFinder::Result result = find_duplicates(options, documents);
    std::set<std::size_t> expected = corpus.planted;
    expected.insert(repeats.begin(), repeats.end());
    CHECK(positions_of(result.verdicts, Verdict::near_duplicate) == expected);
    CHECK(result.exact == 0);
    CHECK(result.near == 14);
  }
}

namespace {

struct SyntheticCorpus {
  std::vector<DocumentHash> hashes;
  std::vector<Signature> signatures;
  std::vector<Verdict> expected;
  std::size_t copies = 0;  ///< near and far copies
};

/// Random hashes and signatures of 128 values: originals; exact repeats of any earlier
/// document; near copies of an original (one value changed in each of 3 bands of 8 rows:
/// estimated Jaccard 125/128) and far copies (4 bands changed entirely: 96/128, below 0.8 but
/// sharing 12 bands with the original).
SyntheticCorpus synthetic_corpus(std::size_t count) {
  std::mt19937_64 rng(7);
  SyntheticCorpus corpus;
  std::vector<std::size_t> originals;
  const auto random_signature = [&rng] {
    Signature signature(128);
    for (std::uint32_t& value : signature) value = static_cast<std::uint32_t>(rng());
    return signature;
  };
  const auto change = [&rng](Signature signature, std::size_t band, std::size_t rows) {
    const std::size_t first = rows == 8 ? 0 : rng() % 8;
    for (std::size_t row = first; row < first + rows; ++row) {
      signature[band * 8 + row] ^= static_cast<std::uint32_t>(rng() | 1);
    }
    return signature;
  };
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t kind = originals.empty() ? 0 : rng() % 20;
    if (kind < 12) {  // an original
      originals.push_back(i);
      corpus.hashes.push_back({rng(), rng()});
      corpus.signatures.push_back(random_signature());
      corpus.expected.push_back(Verdict::keep);
    } else if (kind < 15) {  // an exact repeat
      const std::size_t of = rng() % i;
      corpus.hashes.push_back(corpus.hashes[of]);
      corpus.signatures.push_back(corpus.signatures[of]);
      corpus.expected.push_back(Verdict::exact_duplicate);
    } else {
      const bool near = kind < 18;
      Signature signature = corpus.signatures[originals[rng() % originals.size()]];
      std::vector<std::size_t> bands(16);
      for (std::size_t b = 0; b < 16; ++b) bands[b] = b;
      std::shuffle(bands.begin(), bands.end(), rng);
      for (std::size_t k = 0; k < (near ? 3u : 4u); ++k) {
        signature = change(signature, bands[k], near ? 1 : 8);
      }
      corpus.hashes.push_back({rng(), rng()});
      corpus.signatures.push_back(signature);
      corpus.expected.push_back(near ? Verdict::near_duplicate : Verdict::keep);
      ++corpus.copies;
    }
  }
  return corpus;
}

DuplicateFinder::Result find_synthetic(const SyntheticCorpus& corpus,
                                       std::uint64_t expected_bytes,
                                       std::size_t* files = nullptr) {
  anvil::test::TempDir dir("anvil_dedup");
  DuplicateFinder finder(DedupOptions{}, dir.path, expected_bytes);
  for (std::size_t i = 0; i < corpus.hashes.size(); ++i) {
    finder.add(corpus.hashes[i], corpus.signatures[i]);
  }
  if (files != nullptr) *files = files_in(dir.path).size();
  return finder.resolve();
}

}  // namespace

TEST_CASE("duplicate finder gives the same verdicts in any number of partitions",
          "[data][dedup]") {
  const SyntheticCorpus corpus = synthetic_corpus(3000);
  const std::size_t exact = positions_of(corpus.expected, Verdict::exact_duplicate).size();
  const std::size_t near = positions_of(corpus.expected, Verdict::near_duplicate).size();
  REQUIRE(exact > 300);
  REQUIRE(near > 300);

  const DuplicateFinder::Result one = find_synthetic(corpus, 0);
  CHECK(one.partitions == 1);
  CHECK(one.verdicts == corpus.expected);
  CHECK(one.exact == exact);
  CHECK(one.near == near);
  // Every near and far copy was compared with its original, once, and nothing else was.
  CHECK(one.candidates_checked == corpus.copies);
  CHECK(one.largest_partition_bytes == 3000 * 16 * 16);

  for (const std::uint64_t expected_bytes :
       {std::uint64_t{4} << 20, std::uint64_t{12} << 20, std::uint64_t{1} << 30,
        std::uint64_t{1} << 40}) {
    INFO("expected bytes: " << expected_bytes);
    const std::size_t partitions = expected_bytes < (std::uint64_t{8} << 20) ? 1
                                   : expected_bytes < (std::uint64_t{1} << 30) ? 4
                                                                               : 256;
    std::size_t files = 0;
    const DuplicateFinder::Result many = find_synthetic(corpus, expected_bytes, &files);
    CHECK(many.partitions == partitions);
    CHECK(files == 2 * partitions + 1);
    CHECK(many.verdicts == one.verdicts);
    CHECK(many.exact == one.exact);
    CHECK(many.near == one.near);
    CHECK(many.candidates_checked >= one.candidates_checked);
    CHECK(many.largest_partition_bytes <= one.largest_partition_bytes);
    if (partitions == 256) CHECK(many.largest_partition_bytes < one.largest_partition_bytes / 64);
  }

  // The planted corpus with repeats too.
  const auto [documents, repeats] = corpus_with_repeats(planted_corpus());
  CHECK(find_duplicates(DedupOptions{}, documents, std::uint64_t{1} << 30).verdicts ==
        find_duplicates(DedupOptions{}, documents, 0).verdicts);
}

TEST_CASE("duplicate finder groups leave exact duplicates out, near duplicates lead",
          "[data][dedup]") {
  // 4 bands of one row: documents sharing a value at a position share that band.
  DedupOptions options;
  options.permutations = 4;
  options.bands = 4;
  options.threshold = 0.5;
  for (const std::uint64_t expected_bytes : {std::uint64_t{0}, std::uint64_t{1} << 30}) {
    INFO("expected bytes: " << expected_bytes);
    anvil::test::TempDir dir("anvil_dedup");
    DuplicateFinder finder(options, dir.path, expected_bytes);
    finder.add({1, 1}, {1, 2, 3, 4});
    finder.add({2, 2}, {1, 2, 9, 9});  // half of document 0: near duplicate
    finder.add({3, 3}, {7, 7, 9, 9});  // nothing of 0, half of 1 (near, still the reference)
    finder.add({1, 1}, {5, 6, 7, 8});  // the hash of 0: an exact duplicate, in no group
    finder.add({4, 4}, {5, 6, 7, 0});  // 3/4 of the exact duplicate only: kept
    finder.add({5, 5}, {1, 0, 0, 0});  // 1/4 of 0, 1 and 4, below the threshold: kept
    const DuplicateFinder::Result result = finder.resolve();
    CHECK(result.verdicts ==
          std::vector<Verdict>{Verdict::keep, Verdict::near_duplicate, Verdict::near_duplicate,
                               Verdict::exact_duplicate, Verdict::keep, Verdict::keep});
    CHECK(result.exact == 1);
    CHECK(result.near == 2);
  }
}

TEST_CASE("duplicate finder confirms candidates against the threshold", "[data][dedup]") {
  const auto [a, b] = half_similar_pair();
  const std::vector<std::string> pair = {join(a), join(b)};

  // 64 bands of 2 rows: a pair at Jaccard 0.5 shares a band almost surely, and is compared
  // once however many bands it shares.
  DedupOptions options;
  options.bands = 64;
  options.threshold = 0.8;
  const DuplicateFinder::Result strict = find_duplicates(options, pair);
  CHECK(strict.verdicts == std::vector<Verdict>{Verdict::keep, Verdict::keep});
  CHECK(strict.candidates_checked == 1);
  CHECK(strict.near == 0);

  options.threshold = 0.3;
  const DuplicateFinder::Result loose = find_duplicates(options, pair);
  CHECK(loose.verdicts == std::vector<Verdict>{Verdict::keep, Verdict::near_duplicate});
  CHECK(loose.candidates_checked == 1);
  CHECK(loose.near == 1);

  // Without exact detection, an identical document is a near duplicate at any threshold.
  DedupOptions identical;
  identical.exact = false;
  identical.threshold = 1.0;
  CHECK(find_duplicates(identical, {pair[0], pair[0]}).verdicts ==
        std::vector<Verdict>{Verdict::keep, Verdict::near_duplicate});
}

TEST_CASE("duplicate finder without near or without any detection", "[data][dedup]") {
  anvil::test::TempDir dir("anvil_dedup");
  const DocumentHash x{1, 2}, y{3, 4};

  SECTION("exact only ignores signatures, empty or not") {
    DedupOptions options;
    options.near = false;
    options.bands = 10;  // not checked when near-duplicate detection is off
    DuplicateFinder finder(options, dir.path, 0);
    CHECK(files_in(dir.path) == std::set<std::string>{"dedup-exact-000.bin"});
    finder.add(x, {});
    finder.add(y, Signature(3, 1));
    finder.add(x, {});
    finder.add({1, 3}, {});
    const DuplicateFinder::Result result = finder.resolve();
    CHECK(result.verdicts == std::vector<Verdict>{Verdict::keep, Verdict::keep,
                                                  Verdict::exact_duplicate, Verdict::keep});
    CHECK(result.exact == 1);
    CHECK(result.near == 0);
  }
  SECTION("everything off keeps every document and needs no files") {
    DedupOptions options;
    options.exact = false;
    options.near = false;
    DuplicateFinder finder(options, dir.path / "missing", std::uint64_t{1} << 30);
    for (int i = 0; i < 5; ++i) finder.add(x, {});
    CHECK(finder.documents() == 5);
    const DuplicateFinder::Result result = finder.resolve();
    CHECK(result.verdicts == std::vector<Verdict>(5, Verdict::keep));
    CHECK(result.exact == 0);
    CHECK(result.near == 0);
    CHECK(result.partitions == 0);
    CHECK(result.largest_partition_bytes == 0);
  }
  SECTION("no documents") {
    DuplicateFinder finder(DedupOptions{}, dir.path, 0);
    const DuplicateFinder::Result result = finder.resolve();
    CHECK(result.verdicts.empty());
    CHECK(result.partitions == 1);
  }
  CHECK(files_in(dir.path).empty());
}

TEST_CASE("duplicate finder refuses bad options and signatures", "[data][dedup]") {
  anvil::test::TempDir dir("anvil_dedup");
  const auto with = [](int permutations, int bands, double threshold) {
    DedupOptions options;
    options.permutations = permutations;
    options.bands = bands;
    options.threshold = threshold;
    return options;
  };
  CHECK_THROWS_AS(DuplicateFinder(with(128, 10, 0.8), dir.path, 0), anvil::Error);
  CHECK_THROWS_AS(DuplicateFinder(with(128, 0, 0.8), dir.path, 0), anvil::Error);
  CHECK_THROWS_AS(DuplicateFinder(with(128, 256, 0.8), dir.path, 0), anvil::Error);
  CHECK_THROWS_AS(DuplicateFinder(with(0, 1, 0.8), dir.path, 0), anvil::Error);
  CHECK_THROWS_AS(DuplicateFinder(with(128, 16, 1.5), dir.path, 0), anvil::Error);
  CHECK_THROWS_AS(DuplicateFinder(with(128, 16, -0.1), dir.path, 0), anvil::Error);
  CHECK(files_in(dir.path).empty());

  {
    DuplicateFinder finder(with(128, 16, 0.8), dir.path, 0);
    CHECK_THROWS_AS(finder.add({1, 2}, Signature(64, 1)), anvil::Error);
    CHECK_THROWS_AS(finder.add({1, 2}, {}), anvil::Error);
    CHECK(finder.documents() == 0);
  }

  DedupOptions exact_only;
  exact_only.near = false;
  CHECK_THROWS_AS(DuplicateFinder(DedupOptions{}, dir.path / "missing", 0), anvil::DataError);
  CHECK_THROWS_AS(DuplicateFinder(exact_only, dir.path / "missing", 0), anvil::DataError);
  try {
    DuplicateFinder(DedupOptions{}, dir.path / "missing", std::uint64_t{1} << 30);
    FAIL("no error");
  } catch (const anvil::DataError& error) {
    CHECK_THAT(error.what(), Catch::Contains("dedup-exact-000.bin") &&
                                 Catch::Contains("No such file or directory"));
  }
  CHECK(files_in(dir.path).empty());
}

TEST_CASE("duplicate finder resolves once", "[data][dedup]") {
  anvil::test::TempDir dir("anvil_dedup");
  DedupOptions options;
  options.near = false;
  DuplicateFinder finder(options, dir.path, 0);
  finder.add({1, 2}, {});
  CHECK(finder.resolve().verdicts.size() == 1);
  CHECK_THROWS_AS(finder.resolve(), anvil::Error);
  CHECK_THROWS_AS(finder.add({3, 4}, {}), anvil::Error);
}
