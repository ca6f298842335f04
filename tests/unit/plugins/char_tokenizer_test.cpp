// Tests of the "char" tokenizer: round trips (ASCII, UTF-8, random bytes), special tokens,
// the code-point vocabulary, save/load and the errors of a malformed tokenizer.json.
#include "char_tokenizer.h"

#include <anvil/errors.h>

#include "support/temp_dir.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

using anvil::builtin::CharMode;
using anvil::builtin::CharTokenizer;
using anvil::builtin::CharTokenizerOptions;
using Ids = std::vector<std::int32_t>;

namespace {

// A fresh directory under the system temp folder, removed with its contents at scope exit.
// Each test's folder is named after this file.
struct TempDir : anvil::test::TempDir {
  TempDir() : anvil::test::TempDir("anvil_char_test") {}
};

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

CharTokenizer make(CharMode mode, std::vector<std::string> specials = {"<|endoftext|>"}) {
  CharTokenizerOptions options;
  options.mode = mode;
  options.special_tokens = std::move(specials);
  return CharTokenizer(options);
}

void train(CharTokenizer& tokenizer, std::vector<std::string> docs) {
  anvil::VectorTextSource source(std::move(docs));
  tokenizer.train(source);
}

// The message of the anvil::DataError `f` throws ("<no DataError>" if it throws none).
std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const anvil::DataError& e) {
    return e.what();
  }
  return "<no DataError>";
}

std::string random_bytes(std::mt19937& rng, std::size_t max_len) {
  std::uniform_int_distribution<std::size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(rng), '\0');
  for (char& c : s) c = static_cast<char>(byte(rng));
  return s;
}

const std::string kUtf8Text =
    "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82!";  // "héllo 世界 🙂!"

}  // namespace

TEST_CASE("char bytes mode: ids are specials then 256 bytes", "[tokenizer][char]") {
  const CharTokenizer tok = make(CharMode::bytes);
  CHECK(tok.vocab_size() == 257);
  CHECK(tok.special_tokens() == std::vector<std::string>{"<|endoftext|>"});
  CHECK(tok.encode("Hi!") == Ids{1 + 'H', 1 + 'i', 1 + '!'});
  CHECK(tok.decode({1 + 'H', 1 + 'i', 1 + '!'}) == "Hi!");
  CHECK(tok.encode("").empty());
  CHECK(tok.decode({}).empty());
  CHECK(tok.byte_id(0xFF) == 256);
}

TEST_CASE("char round trip: ASCII and multi-byte UTF-8", "[tokenizer][char]") {
  for (const CharMode mode : {CharMode::bytes, CharMode::codepoints}) {
    CharTokenizer tok = make(mode);
    train(tok, {"The quick brown fox", kUtf8Text});
    const std::string ascii = "The quick brown fox jumps over the lazy dog. 0123456789 ~`\t\n";
    CHECK(tok.decode(tok.encode(ascii)) == ascii);
    CHECK(tok.decode(tok.encode(kUtf8Text)) == kUtf8Text);
  }
  // bytes mode: one id per byte; codepoints mode: one id per (seen) code point.
  CharTokenizer bytes = make(CharMode::bytes);
  CHECK(bytes.encode(kUtf8Text).size() == kUtf8Text.size());  // 19 bytes
  CharTokenizer cps = make(CharMode::codepoints);
  train(cps, {kUtf8Text});
  CHECK(cps.encode(kUtf8Text).size() == 11);  // h é l l o ␠ 世 界 ␠ 🙂 !
}

TEST_CASE("char round trip: random bytes, including invalid UTF-8", "[tokenizer][char]") {
  std::mt19937 rng(1234);
  CharTokenizer bytes = make(CharMode::bytes);
  CharTokenizer cps = make(CharMode::codepoints);
  train(cps, {kUtf8Text, "abc"});
  for (int i = 0; i < 2000; ++i) {
    const std::string s = random_bytes(rng, 48);
    REQUIRE(bytes.decode(bytes.encode(s)) == s);
    REQUIRE(cps.decode(cps.encode(s)) == s);
  }
  // Ill-formed sequences fall back to one byte token per byte.
  const std::vector<std::string> invalid = {
      "\xC3",              // truncated 2-byte sequence
      "\xC0\xAF",          // overlong '/'
      "\xED\xA0\x80",      // UTF-16 surrogate U+D800
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "\x80",              // stray continuation byte
      "\xFF",
  };
  for (const std::string& s : invalid) {
    const Ids ids = cps.encode(s);
    CHECK(ids.size() == s.size());
    for (std::size_t k = 0; k < s.size(); ++k)
      CHECK(ids[k] == cps.byte_id(static_cast<unsigned char>(s[k])));
    CHECK(cps.decode(ids) == s);
  }
}

TEST_CASE("char codepoints mode: sorted vocabulary with byte fallback", "[tokenizer][char]") {
  CharTokenizer tok = make(CharMode::codepoints);
  CHECK(tok.vocab_size() == 257);                    // untrained: specials + bytes only
  train(tok, {"bca", "\xC3\xA9\xC3\xA9", "a\xFF"});  // "éé", and an invalid byte that is skipped
  REQUIRE(tok.codepoints() == std::vector<char32_t>{U'a', U'b', U'c', U'\u00E9'});
  CHECK(tok.vocab_size() == 1 + 4 + 256);
  CHECK(tok.encode("cab\xC3\xA9") == Ids{3, 1, 2, 4});
  // Unseen code points are spelled with their bytes: 'z' and U+1F642 (4 bytes).
  const std::string unseen = "z\xF0\x9F\x99\x82";
  const Ids ids = tok.encode("a" + unseen);
  REQUIRE(ids.size() == 6);
  CHECK(ids[0] == 1);
  CHECK(ids[1] == tok.byte_id('z'));
  CHECK(ids[2] == tok.byte_id(0xF0));
  CHECK(ids[5] == tok.byte_id(0x82));
  CHECK(tok.decode(ids) == "a" + unseen);
  // Retraining replaces the vocabulary.
  train(tok, {"x"});
  CHECK(tok.codepoints() == std::vector<char32_t>{U'x'});
}

TEST_CASE("char special tokens are matched before other encoding", "[tokenizer][char]") {
  SECTION("bytes mode") {
    const CharTokenizer tok = make(CharMode::bytes, {"<|endoftext|>", "<|pad|>"});
    CHECK(tok.vocab_size() == 258);
    CHECK(tok.encode("a<|endoftext|>b<|pad|>") == Ids{2 + 'a', 0, 2 + 'b', 1});
    CHECK(tok.decode({0, 1, 2 + 'x'}) == "<|endoftext|><|pad|>x");
    // An incomplete special token is ordinary text.
    CHECK(tok.encode("<|pad").size() == 5);
    CHECK(tok.token_to_id("<|pad|>") == 1);
    CHECK(tok.token_to_id("q") == 2 + 'q');
    CHECK_FALSE(tok.token_to_id("qq").has_value());
    CHECK_FALSE(tok.token_to_id("").has_value());
  }
  SECTION("encode_ordinary spells special-token text as bytes, in both modes") {
    const CharTokenizer tok = make(CharMode::bytes, {"<|endoftext|>", "<|pad|>"});
    const anvil::OrdinaryEncoder& ordinary = tok;
    Ids expected;
    for (const char c : std::string("a<|pad|>")) expected.push_back(2 + static_cast<unsigned char>(c));
    CHECK(ordinary.encode_ordinary("a<|pad|>") == expected);
    CHECK(ordinary.encode_ordinary_batch({"a<|pad|>", ""}) == std::vector<Ids>{expected, {}});
    CharTokenizer points = make(CharMode::codepoints);
    train(points, {"ab"});
    CHECK(points.encode_ordinary("a<|endoftext|>") ==
          Ids{1, points.byte_id('<'), points.byte_id('|'), points.byte_id('e'), points.byte_id('n'),
              points.byte_id('d'), points.byte_id('o'), points.byte_id('f'), points.byte_id('t'),
              points.byte_id('e'), points.byte_id('x'), points.byte_id('t'), points.byte_id('|'),
              points.byte_id('>')});
    CHECK(points.decode(points.encode_ordinary("a<|endoftext|>")) == "a<|endoftext|>");
  }
  SECTION("the longest special token wins") {
    const CharTokenizer tok = make(CharMode::bytes, {"<s>", "<s>!"});
    CHECK(tok.encode("<s>!<s>") == Ids{1, 0});
  }
  SECTION("codepoints mode: special tokens teach no code points") {
    CharTokenizer tok = make(CharMode::codepoints);
    train(tok, {"<|endoftext|>ab<|endoftext|>"});
    CHECK(tok.codepoints() == std::vector<char32_t>{U'a', U'b'});
    CHECK(tok.encode("b<|endoftext|>a") == Ids{2, 0, 1});
    CHECK(tok.token_to_id("a") == 1);
    CHECK(tok.token_to_id("<") == tok.byte_id('<'));
  }
  SECTION("no special tokens") {
    const CharTokenizer tok = make(CharMode::bytes, {});
    CHECK(tok.vocab_size() == 256);
    CHECK(tok.encode("A") == Ids{'A'});
  }
  SECTION("invalid special tokens are rejected") {
    CHECK_THROWS_AS(make(CharMode::bytes, {""}), anvil::Error);
    CHECK_THROWS_WITH(make(CharMode::bytes, {"<a>", "<a>"}), Catch::Contains("listed twice"));
    CHECK_THROWS_WITH(make(CharMode::bytes, {"\xFF"}), Catch::Contains("UTF-8"));
  }
}

TEST_CASE("char decode rejects ids outside the vocabulary", "[tokenizer][char]") {
  const CharTokenizer tok = make(CharMode::bytes);
  CHECK_THROWS_AS(tok.decode({257}), anvil::Error);
  CHECK_THROWS_WITH(tok.decode({1, -1}), Catch::Contains("token id -1"));
  CHECK_NOTHROW(tok.decode({256}));
}

TEST_CASE("char train in bytes mode consumes the source and learns nothing", "[tokenizer][char]") {
  CharTokenizer tok = make(CharMode::bytes);
  anvil::VectorTextSource source({"abc", "def"});
  tok.train(source);
  std::string doc;
  CHECK_FALSE(source.next(doc));
  CHECK(tok.codepoints().empty());
  CHECK(tok.vocab_size() == 257);
}

TEST_CASE("char save and load restore an equal tokenizer", "[tokenizer][char]") {
  TempDir dir;
  const std::vector<std::string> specials = {"<|endoftext|>", "<|pad|>", "q\"uote\\slash\ttab",
                                             "\xE2\x9F\xA8sep\xE2\x9F\xA9"};
  CharTokenizer original = make(CharMode::codepoints, specials);
  train(original, {kUtf8Text, "zebra\n"});
  original.save(dir.path / "tok");  // creates the directory
  REQUIRE(std::filesystem::exists(dir.path / "tok" / "tokenizer.json"));
  CHECK_FALSE(std::filesystem::exists(dir.path / "tok" / "tokenizer.json.tmp"));

  CharTokenizer loaded = make(CharMode::bytes, {});  // load() takes mode and specials from the file
  loaded.load(dir.path / "tok");
  CHECK(loaded.mode() == CharMode::codepoints);
  CHECK(loaded.special_tokens() == specials);
  CHECK(loaded.codepoints() == original.codepoints());
  CHECK(loaded.vocab_size() == original.vocab_size());
  const std::string sample = "zebra <|pad|> " + kUtf8Text + " \xFF\xFE unseen: Q";
  CHECK(loaded.encode(sample) == original.encode(sample));
  CHECK(loaded.decode(loaded.encode(sample)) == sample);

  // Bytes mode round-trips too (with an empty code point list).
  CharTokenizer bytes = make(CharMode::bytes);
  bytes.save(dir.path / "bytes");
  CharTokenizer bytes_loaded = make(CharMode::codepoints, {"x"});
  bytes_loaded.load(dir.path / "bytes");
  CHECK(bytes_loaded.mode() == CharMode::bytes);
  CHECK(bytes_loaded.special_tokens() == std::vector<std::string>{"<|endoftext|>"});
  CHECK(bytes_loaded.vocab_size() == 257);
}

TEST_CASE("char load reads JSON escapes", "[tokenizer][char]") {
  TempDir dir;
  write_file(dir.path / "tokenizer.json",
             "{\"codepoints\": [97, 233], \"mode\": \"codepoints\", \"extra\": {\"a\": [1.5, null, "
             "true]},\n"
             " \"special_tokens\": [\"\\u00e9\\ud83d\\ude42\", \"a\\/b\\n\"], \"type\": \"char\"}");
  CharTokenizer tok;
  tok.load(dir.path);
  CHECK(tok.special_tokens() == std::vector<std::string>{"\xC3\xA9\xF0\x9F\x99\x82", "a/b\n"});
  CHECK(tok.codepoints() == std::vector<char32_t>{97, 233});
}

TEST_CASE("char load of a malformed tokenizer.json names the file and the field",
          "[tokenizer][char]") {
  TempDir dir;
  const std::string file = (dir.path / "tokenizer.json").string();
  CharTokenizer tok = make(CharMode::bytes);
  const auto load_with = [&](const std::string& text) {
    write_file(dir.path / "tokenizer.json", text);
    return data_error([&] { tok.load(dir.path); });
  };
  const std::string good_tail = R"("special_tokens": ["<s>"], "codepoints": [97, 98]})";

  SECTION("missing file") {
    const std::string missing = (dir.path / "nowhere" / "tokenizer.json").string();
    CHECK_THAT(data_error([&] { tok.load(dir.path / "nowhere"); }), Catch::Contains(missing));
  }
  SECTION("syntax error, with line and column") {
    CHECK_THAT(load_with("{\n  \"type\": \"char\",\n  \"mode\" \"bytes\"\n}"),
               Catch::Contains(file + ":3:16:") && Catch::Contains("expected ':'"));
    CHECK_THAT(load_with("{\"type\": \"char\""), Catch::Contains(file + ":1:16:"));
    CHECK_THAT(load_with("{\"type\": \"char\", \"type\": \"char\"}"),
               Catch::Contains("duplicate key"));
    CHECK_THAT(load_with("{} x"), Catch::Contains("after the JSON value"));
    CHECK_THAT(load_with(""), Catch::Contains(file + ":1:1:"));
  }
  SECTION("wrong top level") {
    CHECK_THAT(load_with("[1]"), Catch::Contains(file) && Catch::Contains("JSON object"));
  }
  SECTION("wrong type") {
    CHECK_THAT(load_with(R"({"type": "bpe", "mode": "bytes", )" + good_tail),
               Catch::Contains(file) && Catch::Contains("field \"type\""));
  }
  SECTION("bad mode") {
    CHECK_THAT(
        load_with(R"({"type": "char", "mode": "words", )" + good_tail),
        Catch::Contains(file) && Catch::Contains("field \"mode\"") && Catch::Contains("words"));
  }
  SECTION("missing field") {
    CHECK_THAT(load_with(R"({"type": "char", "mode": "bytes", "codepoints": []})"),
               Catch::Contains(file) && Catch::Contains("field \"special_tokens\": missing"));
  }
  SECTION("field of the wrong JSON type") {
    CHECK_THAT(load_with(R"({"type": "char", "mode": 3, )" + good_tail),
               Catch::Contains("field \"mode\": expected string, found number"));
    CHECK_THAT(
        load_with(
            R"({"type": "char", "mode": "codepoints", "special_tokens": [1], "codepoints": []})"),
        Catch::Contains("field \"special_tokens[0]\""));
  }
  SECTION("bad code points") {
    const std::string head = R"({"type": "char", "mode": "codepoints", "special_tokens": [], )";
    CHECK_THAT(load_with(head + R"("codepoints": [98, 97]})"),
               Catch::Contains(file) && Catch::Contains("field \"codepoints[1]\"") &&
                   Catch::Contains("ascending"));
    CHECK_THAT(load_with(head + R"("codepoints": [55296]})"), Catch::Contains("codepoints[0]"));
    CHECK_THAT(load_with(head + R"("codepoints": [1.5]})"), Catch::Contains("codepoints[0]"));
    CHECK_THAT(load_with(head + R"("codepoints": [1114112]})"), Catch::Contains("codepoints[0]"));
  }
  SECTION("code points in bytes mode") {
    CHECK_THAT(load_with(R"({"type": "char", "mode": "bytes", )" + good_tail),
               Catch::Contains("field \"codepoints\": must be empty in bytes mode"));
  }
  SECTION("duplicate special tokens") {
    CHECK_THAT(
        load_with(
            R"({"type": "char", "mode": "bytes", "special_tokens": ["a", "a"], "codepoints": []})"),
        Catch::Contains("field \"special_tokens\"") && Catch::Contains("twice"));
  }
  // A failed load leaves the tokenizer as it was.
  CHECK(tok.mode() == CharMode::bytes);
  CHECK(tok.special_tokens() == std::vector<std::string>{"<|endoftext|>"});
}

TEST_CASE("utf8_decode_at follows RFC 3629", "[tokenizer][char]") {
  using anvil::builtin::utf8_decode_at;
  CHECK(utf8_decode_at("\xF4\x8F\xBF\xBF", 0).codepoint == 0x10FFFF);
  CHECK(utf8_decode_at("\xF4\x8F\xBF\xBF", 0).length == 4);
  CHECK(utf8_decode_at("\xE0\xA0\x80", 0).codepoint == 0x800);
  CHECK(utf8_decode_at("\xE0\x9F\xBF", 0).length == 0);  // overlong U+07FF
  CHECK(utf8_decode_at("\xEF\xBF\xBF", 0).codepoint == 0xFFFF);
  CHECK(utf8_decode_at("\xC2\x80", 0).codepoint == 0x80);
  CHECK(utf8_decode_at("\xC1\xBF", 0).length == 0);
  CHECK(utf8_decode_at("a\xC3\xA9", 1).codepoint == 0xE9);
}
