// The pre-tokenizer and the byte-level alphabet: the pieces GPT-2 and GPT-4 cut text into.
#include "byte_level.h"
#include "pretokenizer.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using anvil::builtin::Pretokenizer;

namespace {
std::vector<std::string> pieces(const Pretokenizer& p, const std::string& text) {
  std::vector<std::string_view> views;
  p.split(text, views);
  return std::vector<std::string>(views.begin(), views.end());
}
}  // namespace

TEST_CASE("gpt2 pattern splits contractions, letters, digits, punctuation and spaces", "[bpe][pretokenizer]") {
  const Pretokenizer gpt2("gpt2");
  CHECK(pieces(gpt2, "Hello world's  test 123 don't!!") ==
        std::vector<std::string>{"Hello", " world", "'s", " ", " test", " 123", " don", "'t", "!!"});
  // Whitespace before a word stays with the word; a run of it keeps its last space apart.
  CHECK(pieces(gpt2, "a\n\n  b") == std::vector<std::string>{"a", "\n\n ", " b"});
  CHECK(pieces(gpt2, "x   ") == std::vector<std::string>{"x", "   "});
  CHECK(pieces(gpt2, " 日本語 😀") == std::vector<std::string>{" 日本語", " 😀"});
  // U+00A0 is whitespace, but only a plain space joins the following word (` ?\p{L}+`).
  CHECK(pieces(gpt2, "a\u00a0\u00a0b") == std::vector<std::string>{"a", "\u00a0", "\u00a0", "b"});
  // U+0085 is whitespace too (Unicode White_Space, as tiktoken reads \s).
  CHECK(pieces(gpt2, "a\u0085b") == std::vector<std::string>{"a", "\u0085", "b"});
}

TEST_CASE("gpt4 pattern splits digits in threes and keeps newlines apart", "[bpe][pretokenizer]") {
  const Pretokenizer gpt4("gpt4");
  CHECK(pieces(gpt4, "year 123456") == std::vector<std::string>{"year", " ", "123", "456"});
  CHECK(pieces(gpt4, "I'LL go\n\nnow") == std::vector<std::string>{"I", "'LL", " go", "\n\n", "now"});
}

TEST_CASE("pieces always cover the input, invalid UTF-8 included", "[bpe][pretokenizer]") {
  const Pretokenizer gpt2("gpt2");
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 64);
  for (int i = 0; i < 500; ++i) {
    std::string text;
    for (int n = length(random); n > 0; --n) text.push_back(static_cast<char>(byte(random)));
    std::string joined;
    for (const auto& piece : pieces(gpt2, text)) {
      CHECK(!piece.empty());
      joined += piece;
    }
    REQUIRE(joined == text);
  }
}

TEST_CASE("a custom pattern is compiled, and a broken one is reported", "[bpe][pretokenizer]") {
  const Pretokenizer words("\\w+");
  CHECK(pieces(words, "ab, cd") == std::vector<std::string>{"ab", ", ", "cd"});
  CHECK_THROWS_WITH(Pretokenizer("(unclosed"),
                    Catch::Matchers::Contains("pre-tokenizer pattern does not compile at offset 9"));
}

TEST_CASE("byte-level alphabet matches GPT-2's bytes_to_unicode", "[bpe][byte_level]") {
  using namespace anvil::builtin;
  CHECK(byte_to_symbol(' ') == "\u0120");   // Ġ
  CHECK(byte_to_symbol('\n') == "\u010a");  // Ċ
  CHECK(byte_to_symbol('A') == "A");
  CHECK(byte_to_symbol(0xAD) == "\u0143");  // the last remapped byte
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string back;
  REQUIRE(symbols_to_bytes(bytes_to_symbols(all), back));
  CHECK(back == all);
  std::string rejected;
  CHECK_FALSE(symbols_to_bytes("\u0200", rejected));
}
