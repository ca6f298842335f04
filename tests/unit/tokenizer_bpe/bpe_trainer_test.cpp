// BPE training: train_bpe against a naive reference trainer (recount every pair over every word
// at each step), hand-checked merges, determinism across thread counts, special tokens, limits.
#include "bpe_trainer.h"
#include "byte_level.h"
#include "pretokenizer.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

using anvil::VectorTextSource;
using anvil::builtin::BpeTrainOptions;
using anvil::builtin::BpeTrainStats;
using anvil::builtin::BpeVocabulary;
using anvil::builtin::Pretokenizer;
using anvil::builtin::bytes_to_symbols;
using anvil::builtin::train_bpe;

namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

// ---- the reference: obviously correct, slow ------------------------------------------------

// Cuts `text` at special tokens: the leftmost occurrence, the longest where several start at
// the same byte.
std::vector<std::string> split_specials(const std::string& text, const std::vector<std::string>& specials) {
  std::vector<std::string> spans;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t best = std::string::npos, length = 0;
    for (const auto& special : specials) {
      const std::size_t at = text.find(special, pos);
      if (at == std::string::npos) continue;
      if (best == std::string::npos || at < best || (at == best && special.size() > length)) {
        best = at;
        length = special.size();
      }
    }
    const std::size_t end = best == std::string::npos ? text.size() : best;
    if (end > pos) spans.push_back(text.substr(pos, end - pos));
    if (best == std::string::npos) break;
    pos = best + length;
  }
  return spans;
}

struct Reference {
  std::vector<std::string> tokens;     // as BpeVocabulary::tokens
  Merges merges;                       // as BpeVocabulary::merges
  std::vector<std::int64_t> counts;    // the pair count of each merge when it was chosen
  std::size_t distinct_words = 0;
};

Reference reference_train(const std::vector<std::string>& documents, const Pretokenizer& pretokenizer,
                          const std::vector<std::string>& specials, std::int64_t vocab_size,
                          std::int64_t min_frequency) {
  std::map<std::string, std::int64_t> word_counts;
  for (const auto& document : documents)
    for (const auto& span : split_specials(document, specials)) {
      std::vector<std::string_view> pieces;
      pretokenizer.split(span, pieces);
      for (const auto piece : pieces) ++word_counts[std::string(piece)];
    }
  std::vector<std::string> token_bytes;
  std::map<std::string, int> token_id;
  for (int b = 0; b < 256; ++b) {
    token_bytes.emplace_back(1, static_cast<char>(b));
    token_id[token_bytes.back()] = b;
  }
  std::vector<std::pair<std::vector<int>, std::int64_t>> words;
  for (const auto& [word, count] : word_counts) {
    std::vector<int> symbols;
    for (const char c : word) symbols.push_back(static_cast<unsigned char>(c));
    words.emplace_back(symbols, count);
  }
  Reference ref;
  ref.distinct_words = word_counts.size();
  std::vector<std::pair<int, int>> merges;
  while (static_cast<std::int64_t>(specials.size() + token_bytes.size()) < vocab_size) {
    std::map<std::pair<int, int>, std::int64_t> pairs;
    for (const auto& [symbols, count] : words)
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) pairs[{symbols[i], symbols[i + 1]}] += count;
    // Highest count; std::map iterates pairs in (left, right) order, so the first wins a tie.
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (best == pairs.end() || it->second > best->second) best = it;
    if (best == pairs.end() || best->second < std::max<std::int64_t>(1, min_frequency)) break;
    const auto [left, right] = best->first;
    const std::string bytes = token_bytes[left] + token_bytes[right];
    int merged;
    if (token_id.count(bytes)) {
      merged = token_id[bytes];
    } else {
      merged = static_cast<int>(token_bytes.size());
      token_bytes.push_back(bytes);
      token_id[bytes] = merged;
    }
    merges.emplace_back(left, right);
    ref.counts.push_back(best->second);
    for (auto& [symbols, count] : words) {
      std::vector<int> out;
      for (std::size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          out.push_back(merged);
          i += 2;
        } else {
          out.push_back(symbols[i++]);
        }
      }
      symbols = out;
    }
  }
  ref.tokens = specials;
  for (const auto& bytes : token_bytes) ref.tokens.push_back(bytes_to_symbols(bytes));
  for (const auto& [left, right] : merges)
    ref.merges.emplace_back(bytes_to_symbols(token_bytes[left]), bytes_to_symbols(token_bytes[right]));
  return ref;
}

// ---- helpers --------------------------------------------------------------------------------

BpeVocabulary train(const std::vector<std::string>& documents, const Pretokenizer& pretokenizer,
                    BpeTrainOptions options, BpeTrainStats* stats = nullptr) {
  VectorTextSource source(documents);
  return train_bpe(source, pretokenizer, options, stats);
}

BpeTrainOptions options_for(std::int64_t vocab_size, std::int64_t min_frequency, int threads = 2,
                            std::vector<std::string> specials = {}) {
  BpeTrainOptions options;
  options.vocab_size = vocab_size;
  options.min_frequency = min_frequency;
  options.threads = threads;
  options.special_tokens = std::move(specials);
  return options;
}

std::string read_shakespeare(std::size_t max_bytes) {
  std::ifstream in(ANVIL_SOURCE_DIR "/data/tinyshakespeare.txt", std::ios::binary);
  REQUIRE(in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text.resize(max_bytes);
  return text;
}

// Lines, newline kept, so the documents concatenate back to `text`.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    end = end == std::string::npos ? text.size() : end + 1;
    lines.push_back(text.substr(begin, end - begin));
    begin = end;
  }
  return lines;
}

std::vector<std::string> random_word_documents(unsigned seed, const std::string& alphabet, int documents) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> letter(0, static_cast<int>(alphabet.size()) - 1), length(1, 8),
      words(1, 20);
  std::vector<std::string> out;
  for (int d = 0; d < documents; ++d) {
    std::string text;
    for (int w = words(random); w > 0; --w) {
      if (!text.empty()) text += ' ';
      for (int n = length(random); n > 0; --n) text += alphabet[letter(random)];
    }
    out.push_back(text);
  }
  return out;
}

std::vector<std::string> unicode_documents(unsigned seed, int documents) {
  const std::vector<std::string> fragments = {
      "日本語", "中文", " 漢字", "😀", " 😀😀", "🇫🇷", "é", "naïve", " ", "  ", "\n", "\xff", "\xfe\xff",
      "\x80", "abc", " abc", "<|endoftext|>", "\xe6\x97", "123", "!?", "ß", "Привет", " мир"};
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::size_t> pick(0, fragments.size() - 1);
  std::uniform_int_distribution<int> count(1, 30);
  std::vector<std::string> out;
  for (int d = 0; d < documents; ++d) {
    std::string text;
    for (int n = count(random); n > 0; --n) text += fragments[pick(random)];
    out.push_back(text);
  }
  return out;
}

void check_same_as_reference(const std::vector<std::string>& documents, const Pretokenizer& pretokenizer,
                             const BpeTrainOptions& options) {
  BpeTrainStats stats;
  const BpeVocabulary vocabulary = train(documents, pretokenizer, options, &stats);
  const Reference ref = reference_train(documents, pretokenizer, options.special_tokens,
                                        options.vocab_size, options.min_frequency);
  REQUIRE(vocabulary.merges.size() == ref.merges.size());
  for (std::size_t i = 0; i < ref.merges.size(); ++i) {
    INFO("merge " << i);
    REQUIRE(vocabulary.merges[i] == ref.merges[i]);
  }
  CHECK(vocabulary.tokens == ref.tokens);
  CHECK(vocabulary.special_tokens == options.special_tokens);
  CHECK(stats.distinct_words == ref.distinct_words);
  CHECK(stats.documents == documents.size());
  for (const auto count : ref.counts) CHECK(count >= std::max<std::int64_t>(1, options.min_frequency));
}

std::string symbols_to_text(const std::string& symbols) {
  std::string bytes;
  REQUIRE(anvil::builtin::symbols_to_bytes(symbols, bytes));
  return bytes;
}

}  // namespace

// ---- hand-checked -----------------------------------------------------------------------------

TEST_CASE("aaabdaaabac merges aa, then ab (a < aa breaks the tie), then aaab", "[bpe][trainer]") {
  // One word. Pairs: aa 4 (overlapping), ab 2, others 1. After aa (merged left to right:
  // aa a b d aa a b a c): (aa,a) 2 and (a,b) 2 tie, and a (97) < aa (256). Then (aa,ab) 2.
  const Pretokenizer gpt2("gpt2");
  const auto vocabulary = train({"aaabdaaabac"}, gpt2, options_for(1000, 2));
  CHECK(vocabulary.merges == Merges{{"a", "a"}, {"a", "b"}, {"aa", "ab"}});
  REQUIRE(vocabulary.tokens.size() == 259);
  CHECK(vocabulary.tokens[0] == "\u0100");  // byte 0
  CHECK(vocabulary.tokens['a'] == "a");
  CHECK(vocabulary.tokens[' '] == "\u0120");
  CHECK(std::vector<std::string>(vocabulary.tokens.begin() + 256, vocabulary.tokens.end()) ==
        std::vector<std::string>{"aa", "ab", "aaab"});
  // min_frequency 1 goes on: every remaining pair has count 1; the smallest pair first.
  const auto more = train({"aaabdaaabac"}, gpt2, options_for(1000, 1));
  REQUIRE(more.merges.size() > 3);
  CHECK(more.merges[3] == std::pair<std::string, std::string>{"a", "c"});
}

TEST_CASE("words with spaces: ug then hug then Ġhug, and ties go to the smaller right id", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  // Words: hug 1, " hug" 2, " pug" 1, " bug" 1. (u,g) 5; then (h,ug) 3; then (Ġ,hug) 2.
  const auto hug = train({"hug hug hug pug bug"}, gpt2, options_for(1000, 2));
  CHECK(hug.merges == Merges{{"u", "g"}, {"h", "ug"}, {"\u0120", "hug"}});
  CHECK(hug.tokens.back() == "\u0120hug");
  // (z,b) and (z,a) both 2: a < b. vocab_size 257 leaves room for one merge only.
  const std::vector<std::string> z = {"zb", "za", "zb", "za"};
  CHECK(train(z, gpt2, options_for(1000, 2)).merges == Merges{{"z", "a"}, {"z", "b"}});
  const auto one = train(z, gpt2, options_for(257, 2));
  CHECK(one.merges == Merges{{"z", "a"}});
  CHECK(one.tokens.size() == 257);
}

// ---- against the reference --------------------------------------------------------------------

TEST_CASE("random words from a small alphabet: same merges as the reference", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  const Pretokenizer gpt4("gpt4");
  for (unsigned seed = 1; seed <= 4; ++seed) {
    INFO("seed " << seed);
    const auto documents = random_word_documents(seed, seed % 2 ? "ab" : "abcde", 200);
    check_same_as_reference(documents, gpt2, options_for(256 + 150, 1, 3));
    check_same_as_reference(documents, gpt4, options_for(256 + 150, 3, 2));
    check_same_as_reference(documents, gpt2, options_for(256 + 2 + 60, 2, 1, {"ab a", "<s>"}));
  }
}

TEST_CASE("tinyshakespeare (50 KB): same merges as the reference", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  const auto documents = lines_of(read_shakespeare(50 * 1024));
  check_same_as_reference(documents, gpt2, options_for(256 + 300, 2, 2));
}

TEST_CASE("emoji, CJK and invalid UTF-8: same merges as the reference", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  const Pretokenizer gpt4("gpt4");
  for (unsigned seed = 1; seed <= 3; ++seed) {
    INFO("seed " << seed);
    const auto documents = unicode_documents(seed, 150);
    check_same_as_reference(documents, gpt2, options_for(256 + 200, 1, 4));
    check_same_as_reference(documents, gpt4, options_for(256 + 1 + 200, 2, 2, {"<|endoftext|>"}));
  }
}

// ---- properties ---------------------------------------------------------------------------------

TEST_CASE("the vocabulary is the same whatever the thread count", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  const auto documents = lines_of(read_shakespeare(300 * 1024));
  const auto one = train(documents, gpt2, options_for(2000, 2, 1, {"<|endoftext|>"}));
  const auto four = train(documents, gpt2, options_for(2000, 2, 4, {"<|endoftext|>"}));
  const auto three = train(documents, gpt2, options_for(2000, 2, 3, {"<|endoftext|>"}));
  CHECK(one.tokens.size() == 2000);
  CHECK(one.tokens == four.tokens);
  CHECK(one.merges == four.merges);
  CHECK(one.merges == three.merges);
}

TEST_CASE("vocab_size is reached exactly when the corpus allows and min_frequency stops earlier", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  const auto documents = lines_of(read_shakespeare(50 * 1024));
  for (const std::int64_t size : {256, 257, 300, 700}) {
    const auto vocabulary = train(documents, gpt2, options_for(size, 2));
    CHECK(static_cast<std::int64_t>(vocabulary.tokens.size()) == size);
    CHECK(vocabulary.merges.size() == static_cast<std::size_t>(size - 256));
  }
  // A high min_frequency runs out of pairs before a large vocab_size: every merge chosen was
  // seen at least that often (the reference's counts), and the next best pair was not.
  const auto limited = train(documents, gpt2, options_for(100000, 200));
  const Reference ref = reference_train(documents, gpt2, {}, 100000, 200);
  CHECK(limited.tokens.size() < 100000);
  CHECK(limited.merges == ref.merges);
  CHECK(!ref.counts.empty());
  for (const auto count : ref.counts) CHECK(count >= 200);
  const Reference unlimited = reference_train(documents, gpt2, {}, 256 + ref.merges.size() + 1, 1);
  CHECK(unlimited.counts.back() < 200);
}

TEST_CASE("special tokens take ids 0..n-1 and no merge crosses them", "[bpe][trainer]") {
  const Pretokenizer whole("(?s).+");  // one word per span: nothing but specials separates bytes
  const std::vector<std::string> specials = {"|", "<sep>"};
  std::vector<std::string> documents;
  for (int i = 0; i < 50; ++i) documents.push_back("ab|ab|xy<sep>xy<sep>ab|xy");
  const auto vocabulary = train(documents, whole, options_for(400, 2, 2, specials));
  REQUIRE(vocabulary.tokens.size() >= 258);
  CHECK(vocabulary.tokens[0] == "|");
  CHECK(vocabulary.tokens[1] == "<sep>");
  CHECK(vocabulary.special_tokens == specials);
  CHECK(vocabulary.tokens[2] == bytes_to_symbols(std::string(1, '\0')));
  CHECK(vocabulary.merges == Merges{{"a", "b"}, {"x", "y"}});
  for (std::size_t id = 2; id < vocabulary.tokens.size(); ++id) {
    const std::string bytes = symbols_to_text(vocabulary.tokens[id]);
    if (bytes.size() > 1) CHECK(bytes.find_first_of("|<>") == std::string::npos);
  }
  // Without the specials the same text merges across the separators.
  const auto plain = train(documents, whole, options_for(400, 2, 2));
  bool crossed = false;
  for (const auto& token : plain.tokens) {
    const std::string bytes = symbols_to_text(token);
    crossed = crossed || (bytes.size() > 1 && bytes.find('|') != std::string::npos);
  }
  CHECK(crossed);
  // Leftmost, then longest: "<a>b" wins over "<a>" in "x<a>by", leaving only one-byte words.
  const auto longest = train({"x<a>by", "x<a>by"}, whole, options_for(300, 1, 1, {"<a>", "<a>b"}));
  CHECK(longest.merges.empty());
  CHECK(longest.tokens.size() == 258);
}

TEST_CASE("max_input_bytes cuts the corpus, mid-document", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  const std::string text = read_shakespeare(100 * 1024);
  const auto documents = lines_of(text);
  BpeTrainOptions options = options_for(600, 2);
  options.max_input_bytes = 10000;
  BpeTrainStats stats;
  const auto cut = train(documents, gpt2, options, &stats);
  CHECK(stats.bytes_read == 10000);
  // Same as training on exactly the first 10000 bytes, split into the same documents.
  const auto prefix = lines_of(text.substr(0, 10000));
  CHECK(stats.documents == prefix.size());
  BpeTrainStats prefix_stats;
  const auto expected = train(prefix, gpt2, options_for(600, 2), &prefix_stats);
  CHECK(cut.merges == expected.merges);
  CHECK(prefix_stats.bytes_read == 10000);
  // A limit beyond the corpus reads all of it.
  options.max_input_bytes = text.size() + 1;
  train(documents, gpt2, options, &stats);
  CHECK(stats.bytes_read == text.size());
  CHECK(stats.documents == documents.size());
}

TEST_CASE("progress is reported with increasing byte counts", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  const std::string text = read_shakespeare(std::string::npos);  // 1.1 MB: more than one chunk
  std::vector<std::uint64_t> reported;
  BpeTrainOptions options = options_for(300, 2);
  options.progress = [&](std::uint64_t bytes) { reported.push_back(bytes); };
  BpeTrainStats stats;
  train(lines_of(text), gpt2, options, &stats);
  REQUIRE(reported.size() >= 2);
  for (std::size_t i = 1; i < reported.size(); ++i) CHECK(reported[i] > reported[i - 1]);
  CHECK(reported.back() == stats.bytes_read);
  CHECK(stats.bytes_read == text.size());
  CHECK(stats.count_seconds >= 0);
  CHECK(stats.merge_seconds >= 0);
}

TEST_CASE("bad options and failing sources are reported", "[bpe][trainer]") {
  const Pretokenizer gpt2("gpt2");
  CHECK_THROWS_WITH(train({"abc"}, gpt2, options_for(257, 2, 1, {"<a>", "<b>"})),
                    "vocab_size 257 is smaller than the 256 byte tokens plus 2 special tokens");
  try {
    train({"abc"}, gpt2, options_for(100, 2));
    FAIL("no error");
  } catch (const anvil::Error& error) {
    CHECK(std::string(error.what()) == "vocab_size 100 is smaller than the 256 byte tokens plus 0 special tokens");
    CHECK(error.hint().find("at least 256") != std::string::npos);
  }
  // Exactly the minimum: bytes and specials only.
  const auto minimal = train({"abcabc"}, gpt2, options_for(258, 1, 1, {"<a>", "<b>"}));
  CHECK(minimal.tokens.size() == 258);
  CHECK(minimal.merges.empty());
  CHECK_THROWS_WITH(train({"abc"}, gpt2, options_for(300, 2, 1, {"<a>", "<a>"})),
                    Catch::Matchers::Contains("listed twice"));
  CHECK_THROWS_WITH(train({"abc"}, gpt2, options_for(300, 2, 1, {""})), Catch::Matchers::Contains("is empty"));

  // An empty corpus gives the bytes (and specials) only.
  const auto empty = train({}, gpt2, options_for(1000, 1, 2, {"<s>"}));
  CHECK(empty.tokens.size() == 257);
  CHECK(empty.merges.empty());

  // A source that fails mid-way: the error reaches the caller (workers are joined first).
  struct Failing : anvil::TextSource {
    int left = 3000;
    bool next(std::string& document) override {
      if (--left == 0) throw std::runtime_error("disk on fire");
      document.assign(1000, 'x');
      return true;
    }
  } failing;
  CHECK_THROWS_WITH(train_bpe(failing, gpt2, options_for(300, 2, 2)), "disk on fire");
  // A progress callback that throws (user cancelled) stops training the same way.
  BpeTrainOptions cancelled = options_for(300, 2, 2);
  cancelled.progress = [](std::uint64_t) { throw std::runtime_error("cancelled"); };
  VectorTextSource big(lines_of(read_shakespeare(std::string::npos)));
  CHECK_THROWS_WITH(train_bpe(big, gpt2, cancelled), "cancelled");
}

TEST_CASE("benchmark: tinyshakespeare, vocab 8192", "[.][benchmark]") {
  const Pretokenizer gpt2("gpt2");
  const auto documents = lines_of(read_shakespeare(std::string::npos));
  for (const int threads : {1, 2}) {
    BpeTrainStats stats;
    const auto start = std::chrono::steady_clock::now();
    const auto vocabulary = train(documents, gpt2, options_for(8192, 2, threads), &stats);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("threads=%d tokens=%zu merges=%zu words=%llu count=%.3fs merge=%.3fs total=%.3fs\n", threads,
                vocabulary.tokens.size(), vocabulary.merges.size(),
                static_cast<unsigned long long>(stats.distinct_words), stats.count_seconds, stats.merge_seconds,
                total);
  }
}
