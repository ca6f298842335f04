// The "bpe" tokenizer: round trips on any bytes, special tokens, batch encoding, training, and
// save/load through tokenizer.json and vocab.json + merges.txt.
#include "bpe_files.h"
#include "bpe_tokenizer.h"
#include "byte_level.h"

#include <anvil/errors.h>
#include <anvil/toml_text.h>

#include "support/temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using anvil::builtin::BpeTokenizer;
using anvil::builtin::BpeTokenizerOptions;
using Ids = std::vector<std::int32_t>;
namespace fs = std::filesystem;

namespace {

const fs::path kSource(ANVIL_SOURCE_DIR);
const fs::path kGpt2 = kSource / "tests" / "fixtures" / "tokenizer" / "gpt2";

// Each test's folder is named after this file.
struct TempDir : anvil::test::TempDir {
  TempDir() : anvil::test::TempDir("anvil_bpe_test") {}
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The first 200 KB of tinyshakespeare, in paragraphs, with a few special tokens sprinkled in.
const std::vector<std::string>& corpus() {
  static const std::vector<std::string> docs = [] {
    const std::string text = read_file(kSource / "data" / "tinyshakespeare.txt").substr(0, 200000);
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find("\n\n", start);
      if (end == std::string::npos) end = text.size();
      out.push_back(text.substr(start, end - start + 1) + (out.size() % 7 == 0 ? "<|endoftext|>" : ""));
      start = end + 2;
    }
    return out;
  }();
  return docs;
}

BpeTokenizerOptions small_options() {
  BpeTokenizerOptions options;
  options.vocab_size = 600;
  options.special_tokens = {"<|endoftext|>", "<|pad|>"};
  return options;
}

std::unique_ptr<BpeTokenizer> train(BpeTokenizerOptions options) {
  auto tok = std::make_unique<BpeTokenizer>(std::move(options));
  anvil::VectorTextSource source(corpus());
  tok->train(source);
  return tok;
}

// One tokenizer trained on the corpus, shared by the tests that only read it.
const BpeTokenizer& trained() {
  static const std::unique_ptr<BpeTokenizer> tok = train(small_options());
  return *tok;
}

const BpeTokenizer& gpt2() {
  static const std::unique_ptr<BpeTokenizer> tok = [] {
    BpeTokenizerOptions options;
    options.files = kGpt2.string();
    return std::make_unique<BpeTokenizer>(options);
  }();
  return *tok;
}

std::string random_bytes(std::mt19937& rng, std::size_t max_len) {
  std::uniform_int_distribution<std::size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(rng), '\0');
  for (char& c : s) c = static_cast<char>(byte(rng));
  return s;
}

// Random valid UTF-8 from scripts, whitespace, digits, emoji and marks (and special tokens).
std::string random_unicode(std::mt19937& rng, std::size_t max_chars) {
  static const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0x20, 0x7E},       {0x20, 0x7E},     {0x09, 0x0D},     {0x80, 0xFF},
      {0x0300, 0x036F},   {0x0400, 0x04FF}, {0x0600, 0x06FF}, {0x0900, 0x097F},
      {0x2000, 0x206F},   {0x3000, 0x303F}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
      {0xFF00, 0xFFEF},   {0x1F300, 0x1FAFF}, {0x10000, 0x10FFFF}};
  std::uniform_int_distribution<std::size_t> len(0, max_chars), pick(0, ranges.size() - 1);
  std::string s;
  for (std::size_t n = len(rng); n > 0; --n) {
    const auto [lo, hi] = ranges[pick(rng)];
    char32_t cp = std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    if (std::uniform_int_distribution<int>(0, 40)(rng) == 0) {
      s += "<|endoftext|>";
      continue;
    }
    anvil::append_utf8(s, cp);
  }
  return s;
}

const std::vector<std::string> kSamples = {
    "",
    "Hello world",
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n",
    "  leading and trailing   ",
    "<|endoftext|>between<|pad|><|endoftext|>",
    "h\u00e9llo \u4e16\u754c \U0001F642! 12345 don't",
    "\xFF\xFE invalid \xC3 utf-8 \xED\xA0\x80",
    std::string(500, ' ') + "x" + std::string(300, '\n'),
};

}  // namespace

TEST_CASE("bpe untrained: the special tokens, then the 256 bytes", "[bpe][tokenizer]") {
  BpeTokenizerOptions options;
  options.special_tokens = {"<|endoftext|>", "<|pad|>"};
  const BpeTokenizer tok(options);
  CHECK(tok.vocab_size() == 258);
  CHECK(tok.special_tokens() == std::vector<std::string>{"<|endoftext|>", "<|pad|>"});
  CHECK(tok.encode("Hi!<|pad|>") == Ids{2 + 'H', 2 + 'i', 2 + '!', 1});
  CHECK(tok.decode({2 + 'H', 0, 2 + 0xFF}) == "H<|endoftext|>\xFF");
  CHECK(tok.model().merges().empty());
}

TEST_CASE("bpe training: special tokens 0..n-1, bytes next, then merged tokens",
          "[bpe][tokenizer][train]") {
  const BpeTokenizer& tok = trained();
  CHECK(tok.vocab_size() == 600);
  CHECK(tok.special_tokens() == std::vector<std::string>{"<|endoftext|>", "<|pad|>"});
  CHECK(tok.token_to_id("<|endoftext|>") == 0);
  CHECK(tok.token_to_id("<|pad|>") == 1);
  for (int b = 0; b < 256; ++b) CHECK(tok.model().byte_id(static_cast<unsigned char>(b)) == 2 + b);
  CHECK(tok.model().merges().size() >= 600 - 258);
  // The corpus's commonest words became single tokens, and text compresses.
  CHECK(tok.encode(" the").size() == 1);
  CHECK(tok.encode("First Citizen:").size() < 8);
  std::string doc;
  for (std::size_t i = 0; i < 20; ++i) doc += corpus()[i];
  CHECK(tok.encode(doc).size() * 2 < doc.size());
  CHECK(tok.decode(tok.encode(doc)) == doc);
  // A special token in the corpus is never learned as ordinary text.
  CHECK(tok.encode("<|endoftext|>") == Ids{0});
}

TEST_CASE("bpe round trip: random bytes, invalid UTF-8 included", "[bpe][tokenizer]") {
  std::mt19937 rng(20240);
  const BpeTokenizer untrained;
  BpeTokenizerOptions none = small_options();
  none.allowed_special = {};
  const BpeTokenizer plain(none);
  for (const BpeTokenizer* tok : {&untrained, &plain, &trained(), &gpt2()}) {
    for (int i = 0; i < 1500; ++i) {
      std::string s = random_bytes(rng, 64);
      if (i % 10 == 0) s.insert(s.size() / 2, "<|endoftext|>");
      REQUIRE(tok->decode(tok->encode(s)) == s);
      REQUIRE(tok->decode(tok->encode_ordinary(s)) == s);
    }
    for (const std::string& s : kSamples) CHECK(tok->decode(tok->encode(s)) == s);
  }
}

TEST_CASE("bpe round trip: random Unicode text", "[bpe][tokenizer]") {
  std::mt19937 rng(777);
  for (const BpeTokenizer* tok : {&trained(), &gpt2()}) {
    for (int i = 0; i < 1500; ++i) {
      const std::string s = random_unicode(rng, 40);
      REQUIRE(tok->decode(tok->encode(s)) == s);
    }
  }
}

TEST_CASE("bpe encode_batch gives encode() of each text, on any thread count",
          "[bpe][tokenizer]") {
  std::mt19937 rng(5);
  std::vector<std::string> texts;
  for (int i = 0; i < 300; ++i)
    texts.push_back(i % 2 ? random_unicode(rng, 80) : corpus()[static_cast<std::size_t>(i) % corpus().size()]);
  texts.push_back("");
  for (const BpeTokenizer* tok : {&trained(), &gpt2()}) {
    std::vector<Ids> expected;
    for (const std::string& text : texts) expected.push_back(tok->encode(text));
    for (const int threads : {0, 1, 2, 3, 8}) CHECK(tok->encode_batch(texts, threads) == expected);
    CHECK(tok->encode_batch({}, 2).empty());
  }
}

TEST_CASE("bpe allowed_special: all, some or none of the special tokens are matched",
          "[bpe][tokenizer]") {
  BpeTokenizerOptions options;
  options.special_tokens = {"<s>", "<s>!", "<|endoftext|>"};
  BpeTokenizerOptions none_options = options;
  none_options.allowed_special = {};
  BpeTokenizerOptions some_options = options;
  some_options.allowed_special = {"<|endoftext|>"};
  const BpeTokenizer all(options), none(none_options), some(some_options);
  // Only the listed token is matched; the others are text.
  CHECK(some.encode("<s>a<|endoftext|>") == Ids{3 + '<', 3 + 's', 3 + '>', 3 + 'a', 2});
  BpeTokenizerOptions unknown_options = options;
  unknown_options.allowed_special = {"<pad>"};
  CHECK_THROWS_WITH(BpeTokenizer(unknown_options),
                    Catch::Matchers::Contains("allowed_special lists '<pad>', which is not a special token"));
  // The longest special token spelled at a position wins.
  CHECK(all.encode("<s>!<s>") == Ids{1, 0});
  CHECK(all.encode("a<|endoftext|>") == Ids{3 + 'a', 2});
  CHECK(all.encode("<s") == Ids{3 + '<', 3 + 's'});
  const Ids plain = none.encode("<s>!<s>");
  CHECK(plain.size() == 7);
  CHECK(none.decode(plain) == "<s>!<s>");
  CHECK(none.encode("<s>") == all.encode_ordinary("<s>"));
  // The same through the SDK's OrdinaryEncoder, batched, whatever allowed_special says.
  const anvil::OrdinaryEncoder& ordinary = all;
  CHECK(ordinary.encode_ordinary_batch({"a<|endoftext|>", "<s>!<s>"}, 2) ==
        std::vector<Ids>{none.encode("a<|endoftext|>"), plain});
  // Decoding is the same either way; token_to_id still knows the special tokens.
  CHECK(none.decode({1, 2}) == "<s>!<|endoftext|>");
  CHECK(none.token_to_id("<s>!") == 1);

  // GPT-2 text with the special token spelled in it.
  CHECK(gpt2().encode("a<|endoftext|>b") == Ids{64, 50256, 65});
}

TEST_CASE("bpe token_to_id: special text, ordinary text, or byte-level spelling",
          "[bpe][tokenizer]") {
  const BpeTokenizer& tok = trained();
  CHECK(tok.token_to_id("<|pad|>") == 1);
  CHECK(tok.token_to_id("a") == 2 + 'a');
  CHECK(tok.token_to_id("\n") == 2 + '\n');
  CHECK(tok.token_to_id("\u010a") == 2 + '\n');  // the byte-level spelling of '\n'
  const auto the = tok.token_to_id(" the");
  REQUIRE(the.has_value());
  CHECK(tok.token_to_id("\u0120the") == the);
  CHECK(tok.decode({*the}) == " the");
  CHECK_FALSE(tok.token_to_id("").has_value());
  CHECK_FALSE(tok.token_to_id("<|pad|> ").has_value());
  CHECK_FALSE(tok.token_to_id("zzzzzzzzzzzz").has_value());
}

TEST_CASE("bpe decode rejects ids outside the vocabulary", "[bpe][tokenizer]") {
  CHECK_THROWS_WITH(gpt2().decode({15496, 50257}),
                    "bpe tokenizer: cannot decode token id 50257: the vocabulary has ids 0..50256");
  CHECK_THROWS_WITH(trained().decode({-1}),
                    "bpe tokenizer: cannot decode token id -1: the vocabulary has ids 0..599");
  CHECK_THROWS_AS(trained().decode({600}), anvil::Error);
  CHECK(gpt2().decode({50256}) == "<|endoftext|>");
}

TEST_CASE("bpe options are checked at construction", "[bpe][tokenizer]") {
  const auto error = [](BpeTokenizerOptions options) -> std::string {
    try {
      BpeTokenizer tok(std::move(options));
    } catch (const anvil::Error& e) {
      return e.what();
    }
    return "<no error>";
  };
  BpeTokenizerOptions o;
  o.special_tokens = {"<a>", ""};
  CHECK(error(o) == "bpe tokenizer: special token 1 is empty");
  o.special_tokens = {"<a>", "<a>"};
  CHECK(error(o) == "bpe tokenizer: special token \"<a>\" is listed twice");
  o.special_tokens = {"\xFF"};
  CHECK(error(o) == "bpe tokenizer: special token 0 is not valid UTF-8");
  o.special_tokens = {"<a>", "<b>"};
  o.vocab_size = 257;
  CHECK(error(o) == "bpe tokenizer: vocab_size 257 is smaller than the 256 byte tokens plus 2 "
                    "special tokens");
  o.vocab_size = 1000;
  o.pretokenizer = "(unclosed";
  CHECK(error(o) == "pre-tokenizer pattern does not compile at offset 9: missing closing parenthesis");
}

TEST_CASE("bpe save then load gives the same encodings and the same files",
          "[bpe][tokenizer][train]") {
  TempDir dir;
  const BpeTokenizer& original = trained();
  original.save(dir.path / "a");
  for (const char* name : {"tokenizer.json", "vocab.json", "merges.txt"})
    CHECK(fs::exists(dir.path / "a" / name));
  CHECK_FALSE(fs::exists(dir.path / "a" / "tokenizer.json.tmp"));

  // The loaded tokenizer takes specials and pattern from the files, not its own options.
  BpeTokenizerOptions other;
  other.special_tokens = {"<x>"};
  other.pretokenizer = "gpt4";
  BpeTokenizer loaded(other);
  loaded.load(dir.path / "a");
  CHECK(loaded.vocab_size() == original.vocab_size());
  CHECK(loaded.special_tokens() == original.special_tokens());
  CHECK(loaded.pretokenizer().name() == "gpt2");
  for (const std::string& text : kSamples) CHECK(loaded.encode(text) == original.encode(text));
  for (std::size_t i = 0; i < corpus().size(); i += 5)
    CHECK(loaded.encode(corpus()[i]) == original.encode(corpus()[i]));

  loaded.save(dir.path / "b");
  for (const char* name : {"tokenizer.json", "vocab.json", "merges.txt"})
    CHECK(read_file(dir.path / "a" / name) == read_file(dir.path / "b" / name));

  // The files option loads a folder or a tokenizer.json file at construction.
  BpeTokenizerOptions from_file;
  from_file.files = (dir.path / "a" / "tokenizer.json").string();
  CHECK(BpeTokenizer(from_file).encode(kSamples[2]) == original.encode(kSamples[2]));
}

TEST_CASE("bpe tokenizer.json is Hugging Face's format", "[bpe][tokenizer][train]") {
  TempDir dir;
  trained().save(dir.path);
  const auto json = nlohmann::json::parse(read_file(dir.path / "tokenizer.json"));
  CHECK(json["version"] == "1.0");
  CHECK(json["normalizer"].is_null());
  CHECK(json["added_tokens"].size() == 2);
  CHECK(json["added_tokens"][1]["id"] == 1);
  CHECK(json["added_tokens"][1]["content"] == "<|pad|>");
  CHECK(json["added_tokens"][1]["special"] == true);
  const auto& pre = json["pre_tokenizer"];
  CHECK(pre["type"] == "Sequence");
  CHECK(pre["pretokenizers"][0]["type"] == "Split");
  CHECK(pre["pretokenizers"][0]["pattern"]["Regex"] == anvil::builtin::kGpt2Pattern);
  CHECK(pre["pretokenizers"][0]["behavior"] == "Isolated");
  CHECK(pre["pretokenizers"][1]["type"] == "ByteLevel");
  CHECK(pre["pretokenizers"][1]["use_regex"] == false);
  CHECK(json["decoder"]["type"] == "ByteLevel");
  const auto& model = json["model"];
  CHECK(model["type"] == "BPE");
  CHECK(model["vocab"].size() == 600);
  CHECK(model["vocab"]["<|endoftext|>"] == 0);
  CHECK(model["vocab"]["\u0120"] == 2 + ' ');
  REQUIRE(model["merges"].size() == trained().model().merges().size());
  const auto& first = trained().model().merges()[0];
  CHECK(model["merges"][0] == trained().model().spelling(first.left) + " " +
                                  trained().model().spelling(first.right));
  CHECK(read_file(dir.path / "merges.txt").rfind("#version: 0.2\n", 0) == 0);
}

TEST_CASE("bpe vocab.json + merges.txt alone round trip", "[bpe][tokenizer][train]") {
  TempDir dir;
  trained().save(dir.path / "a");
  fs::remove(dir.path / "a" / "tokenizer.json");
  BpeTokenizer loaded;
  loaded.load(dir.path / "a");
  // Special tokens are the tokens no merge makes or uses, in id order.
  CHECK(loaded.special_tokens() == trained().special_tokens());
  CHECK(loaded.vocab_size() == trained().vocab_size());
  for (const std::string& text : kSamples) CHECK(loaded.encode(text) == trained().encode(text));
  loaded.save(dir.path / "b");
  CHECK(read_file(dir.path / "a" / "vocab.json") == read_file(dir.path / "b" / "vocab.json"));
  CHECK(read_file(dir.path / "a" / "merges.txt") == read_file(dir.path / "b" / "merges.txt"));
}

TEST_CASE("bpe the pre-tokenizer pattern travels in tokenizer.json", "[bpe][tokenizer][train]") {
  for (const std::string pattern : {"gpt4", "\\p{L}+|\\p{N}|\\s+|[^\\p{L}\\p{N}\\s]+"}) {
    BpeTokenizerOptions options = small_options();
    options.pretokenizer = pattern;
    const auto tok = train(options);
    TempDir dir;
    tok->save(dir.path);
    BpeTokenizer loaded;
    loaded.load(dir.path);
    CHECK(loaded.pretokenizer().name() == pattern);
    for (const std::string& text : kSamples) CHECK(loaded.encode(text) == tok->encode(text));
  }
}

TEST_CASE("bpe GPT-2 saved and reloaded, and Hugging Face's other spellings", "[bpe][tokenizer]") {
  TempDir dir;
  gpt2().save(dir.path / "saved");
  std::vector<std::string> texts = kSamples;
  texts.push_back(read_file(kSource / "data" / "tinyshakespeare.txt").substr(0, 20000));
  const auto same_as_gpt2 = [&](const BpeTokenizer& tok) {
    CHECK(tok.vocab_size() == 50257);
    CHECK(tok.special_tokens() == std::vector<std::string>{"<|endoftext|>"});
    CHECK(tok.token_to_id("<|endoftext|>") == 50256);
    for (const std::string& text : texts) CHECK(tok.encode(text) == gpt2().encode(text));
  };
  BpeTokenizer reloaded;
  reloaded.load(dir.path / "saved");
  same_as_gpt2(reloaded);

  // As Hugging Face writes GPT-2: the ByteLevel pre-tokenizer with its own regex, and merges as
  // [left, right] pairs.
  auto json = nlohmann::json::parse(read_file(dir.path / "saved" / "tokenizer.json"));
  json["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false},
                           {"trim_offsets", true}, {"use_regex", true}};
  for (auto& merge : json["model"]["merges"]) {
    const std::string text = merge.get<std::string>();
    const auto space = text.find(' ');
    merge = nlohmann::json::array({text.substr(0, space), text.substr(space + 1)});
  }
  fs::create_directories(dir.path / "hf");
  write_file(dir.path / "hf" / "tokenizer.json", json.dump());
  BpeTokenizer hf;
  hf.load(dir.path / "hf");
  CHECK(hf.pretokenizer().name() == "gpt2");
  same_as_gpt2(hf);

  // GPT-2 as vocab.json + merges.txt: "<|endoftext|>" is recognised as special.
  fs::remove(dir.path / "saved" / "tokenizer.json");
  BpeTokenizer pair;
  pair.load(dir.path / "saved");
  same_as_gpt2(pair);
}

TEST_CASE("bpe ignore_merges: a piece that is a token is that token", "[bpe][tokenizer]") {
  // Merges "b c", "a b", "ab c": the merges turn "abc" into [a, bc], though "abc" is a token.
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[anvil::builtin::byte_to_symbol(static_cast<std::uint8_t>(b))] = b;
  vocab["bc"] = 256;
  vocab["ab"] = 257;
  vocab["abc"] = 258;
  nlohmann::json file = {
      {"added_tokens", nlohmann::json::array()},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"b c", "a b", "ab c"}}}}};
  TempDir dir;
  write_file(dir.path / "tokenizer.json", file.dump());
  BpeTokenizer merged;
  merged.load(dir.path);
  CHECK(merged.special_tokens().empty());
  CHECK(merged.encode("abc") == Ids{'a', 256});
  CHECK(merged.encode("xabc") == Ids{'x', 'a', 256});

  file["model"]["ignore_merges"] = true;
  write_file(dir.path / "tokenizer.json", file.dump());
  BpeTokenizer direct;
  direct.load(dir.path);
  CHECK(direct.model().ignore_merges());
  CHECK(direct.encode("abc") == Ids{258});
  CHECK(direct.encode("xabc") == Ids{'x', 'a', 256});
  // The flag is written back.
  direct.save(dir.path / "again");
  CHECK(nlohmann::json::parse(read_file(dir.path / "again" / "tokenizer.json"))["model"]["ignore_merges"] == true);
}

TEST_CASE("bpe long texts are pre-tokenized in windows with the whole text's pieces",
          "[bpe][tokenizer][train]") {
  // ~2 MB of short runs of every kind, with runs longer than a window in between.
  std::mt19937 rng(31);
  const std::vector<std::string> parts = {
      " ", "  ", "   ", "\n", "\n\n", "\r\n", "\t", " \t ", "\u00a0", "\u0085", "\u3000",
      "the", " the", "Hello", "x", "'s", "'LL", "don't", "123", "4567890", " 42", "!!", " ...",
      "(", "){", "\u4e16\u754c", "\U0001F642", "\xFF", "\xC3", "\xE2\x82", "<|endoftext|>"};
  std::uniform_int_distribution<std::size_t> pick(0, parts.size() - 1);
  const auto mixed = [&](std::size_t bytes) {
    std::string out;
    while (out.size() < bytes) out += parts[pick(rng)];
    return out;
  };
  // Windows are 256 KiB: most cuts fall in mixed text, some in runs longer than a window.
  std::string text = mixed(700000) + std::string(400000, ' ') + "x" + mixed(300000) + " " +
                     std::string(300000, 'a') + mixed(200000);
  for (int i = 0; i < 150000; ++i) text += "\n ";
  BpeTokenizerOptions gpt4 = small_options();
  gpt4.pretokenizer = "gpt4";
  const std::unique_ptr<const BpeTokenizer> gpt4_tok = train(gpt4);
  for (const BpeTokenizer* tok : {&gpt2(), &trained(), gpt4_tok.get()}) {
    std::vector<std::string_view> pieces;
    tok->pretokenizer().split(text, pieces);
    Ids expected;
    for (const std::string_view piece : pieces) tok->model().merge_piece(piece, expected);
    const Ids ids = tok->encode_ordinary(text);
    REQUIRE(ids.size() == expected.size());
    CHECK(ids == expected);
    CHECK(tok->decode(ids) == text);
  }
}

TEST_CASE("bpe added tokens outside model.vocab take their own ids", "[bpe][tokenizer]") {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[anvil::builtin::byte_to_symbol(static_cast<std::uint8_t>(b))] = b;
  vocab["ab"] = 256;
  const nlohmann::json file = {
      {"added_tokens",
       {{{"id", 257}, {"content", "<|x|>"}, {"special", true}},
        {{"id", 258}, {"content", "[not special]"}, {"special", false}}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}}}};
  TempDir dir;
  write_file(dir.path / "tokenizer.json", file.dump(2));
  BpeTokenizer tok;
  tok.load(dir.path / "tokenizer.json");
  CHECK(tok.vocab_size() == 259);
  // Every added token is matched verbatim in text, whatever its "special" flag.
  CHECK(tok.special_tokens() == std::vector<std::string>{"<|x|>", "[not special]"});
  CHECK(tok.encode("ab<|x|>[not special]") == Ids{256, 257, 258});
  CHECK(tok.token_to_id("<|x|>") == 257);
  // Written back with every id in model.vocab, and read back the same.
  tok.save(dir.path / "again");
  BpeTokenizer again;
  again.load(dir.path / "again");
  CHECK(again.special_tokens() == tok.special_tokens());
  CHECK(again.encode("ab<|x|>[not special]") == Ids{256, 257, 258});
}
