#include <anvil/errors.h>

#include <catch2/catch.hpp>
#include <string>

#include "data/cleaner.h"

using anvil::core::Cleaner;
using anvil::core::CleanOptions;
using anvil::core::CleanResult;
using anvil::core::InvalidUtf8Policy;
using anvil::core::Normalization;
using anvil::core::Rejection;

namespace {

std::string cleaned(std::string text, const CleanOptions& options = {}) {
  const CleanResult result = Cleaner(options).clean(text);
  REQUIRE(result.rejection == Rejection::kept);
  return text;
}

Rejection rejection_of(std::string text, const CleanOptions& options) {
  return Cleaner(options).clean(text).rejection;
}

}  // namespace

TEST_CASE("cleaner parses option names and names rejections", "[data][clean]") {
  CHECK(anvil::core::parse_normalization("none") == Normalization::none);
  CHECK(anvil::core::parse_normalization("nfc") == Normalization::nfc);
  CHECK(anvil::core::parse_normalization("nfkc") == Normalization::nfkc);
  CHECK_FALSE(anvil::core::parse_normalization("NFC").has_value());
  CHECK(anvil::core::parse_invalid_utf8_policy("repair") == InvalidUtf8Policy::repair);
  CHECK(anvil::core::parse_invalid_utf8_policy("drop") == InvalidUtf8Policy::drop);
  CHECK_FALSE(anvil::core::parse_invalid_utf8_policy("skip").has_value());

  CHECK(anvil::core::to_string(Rejection::kept) == "kept");
  CHECK(anvil::core::to_string(Rejection::invalid_utf8) == "invalid UTF-8");
  CHECK(anvil::core::to_string(Rejection::too_short) == "too short");
  CHECK(anvil::core::to_string(Rejection::too_long) == "too long");
  CHECK(anvil::core::to_string(Rejection::too_few_words) == "too few words");
  CHECK(anvil::core::to_string(Rejection::too_many_symbols) == "too many symbols");
  CHECK(anvil::core::to_string(Rejection::repeated_lines) == "repeated lines");
}

TEST_CASE("cleaner leaves clean ASCII text as it is", "[data][clean]") {
  std::string text = "The quick brown fox.\n\n  Jumps over\tthe lazy dog!";
  const std::string original = text;
  const CleanResult result = Cleaner(CleanOptions{}).clean(text);
  CHECK(result.rejection == Rejection::kept);
  CHECK_FALSE(result.repaired_utf8);
  CHECK(result.control_removed == 0);
  CHECK(result.chars == original.size());
  CHECK(text == original);
}

TEST_CASE("cleaner repairs each invalid UTF-8 sequence with U+FFFD", "[data][clean]") {
  std::string text = "a\xff" "b";
  const CleanResult result = Cleaner(CleanOptions{}).clean(text);
  CHECK(result.rejection == Rejection::kept);
  CHECK(result.repaired_utf8);
  CHECK(text == "a\xEF\xBF\xBD" "b");
  CHECK(result.chars == 3);

  // A truncated sequence is one U+FFFD; a byte that cannot continue it stays.
  CHECK(cleaned("x\xe2\x82") == "x\xEF\xBF\xBD");
  CHECK(cleaned("\xc3(") == "\xEF\xBF\xBD(");
  // Surrogates and overlong forms are invalid byte by byte.
  CHECK(cleaned("\xed\xa0\x80" "z") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "z");
  CHECK(cleaned("\xc0\xaf") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  // Valid multi-byte characters around it survive.
  CHECK(cleaned("\xc3\xa9\x80\xe2\x82\xac") == "\xc3\xa9\xEF\xBF\xBD\xe2\x82\xac");
}

TEST_CASE("cleaner rejects invalid UTF-8 under the drop policy", "[data][clean]") {
  CleanOptions options;
  options.invalid_utf8 = InvalidUtf8Policy::drop;
  std::string text = "a\xff" "b";
  const CleanResult result = Cleaner(options).clean(text);
  CHECK(result.rejection == Rejection::invalid_utf8);
  CHECK_FALSE(result.repaired_utf8);
  CHECK(rejection_of("caf\xc3\xa9", options) == Rejection::kept);
}

TEST_CASE("cleaner turns CR LF and lone CR into LF", "[data][clean]") {
  CHECK(cleaned("a\r\nb\rc\r\n\r\nd") == "a\nb\nc\n\nd");
  CleanOptions keep_controls;
  keep_controls.strip_control = false;
  CHECK(cleaned("a\r\nb\rc", keep_controls) == "a\nb\nc");
}

TEST_CASE("cleaner strips control characters except newline and tab", "[data][clean]") {
  std::string text = "a\x01" "b\x7f\tc\nd\xc2\x85" "e\x1b[0m";
  const CleanResult result = Cleaner(CleanOptions{}).clean(text);
  CHECK(text == "ab\tc\nde[0m");
  CHECK(result.control_removed == 4);

  CleanOptions keep;
  keep.strip_control = false;
  CHECK(cleaned("a\x01" "b", keep) == "a\x01" "b");
}

TEST_CASE("cleaner normalizes to NFC", "[data][clean]") {
  std::string text = "Cafe\xcc\x81 e\xcc\x81t\xc3\xa9";
  const CleanResult result = Cleaner(CleanOptions{}).clean(text);
  CHECK(text == "Caf\xc3\xa9 \xc3\xa9t\xc3\xa9");
  CHECK(result.chars == 8);
  CHECK(cleaned("e\xcc\x81") == "\xc3\xa9");
  // NFC keeps compatibility characters.
  CHECK(cleaned("\xef\xac\x81" "sh") == "\xef\xac\x81" "sh");
}

TEST_CASE("cleaner normalizes to NFKC", "[data][clean]") {
  CleanOptions options;
  options.normalize = Normalization::nfkc;
  CHECK(cleaned("\xef\xac\x81" "sh", options) == "fish");
  CHECK(cleaned("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93", options) == "123");
  CHECK(cleaned("e\xcc\x81", options) == "\xc3\xa9");
  // Mixed runs: full-width A, a combining accent on the ASCII letter before it, NBSP.
  CHECK(cleaned("ab\xef\xbc\xa1" "e\xcc\x81z x\xc2\xa0y", options) == "abA\xc3\xa9z x y");
}

TEST_CASE("cleaner can leave normalization out", "[data][clean]") {
  CleanOptions options;
  options.normalize = Normalization::none;
  CHECK(cleaned("e\xcc\x81", options) == "e\xcc\x81");
}

TEST_CASE("cleaner trims trailing whitespace and blank lines at both ends", "[data][clean]") {
  CHECK(cleaned("  \n\t\nhello  \t\n  world\xe3\x80\x80\n\n \n") == "hello\n  world");
  CHECK(cleaned("a\n\n\nb\n") == "a\n\n\nb");
  CHECK(cleaned("a \xc2\xa0\n  \nb") == "a\n\nb");
  std::string blank = " \n\t \n";
  CHECK(Cleaner(CleanOptions{}).clean(blank).rejection == Rejection::too_short);
  CHECK(blank.empty());
}

TEST_CASE("cleaner counts code points for the length filters", "[data][clean]") {
  CleanOptions options;
  options.min_chars = 5;
  options.max_chars = 6;
  CHECK(rejection_of("abcd", options) == Rejection::too_short);
  CHECK(rejection_of("abcde", options) == Rejection::kept);
  CHECK(rejection_of("abcdef", options) == Rejection::kept);
  CHECK(rejection_of("abcdefg", options) == Rejection::too_long);
  // Five two-byte characters: 10 bytes, 5 code points.
  CHECK(rejection_of("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", options) == Rejection::kept);
  // Trailing whitespace is gone before counting.
  CHECK(rejection_of("abcd   ", options) == Rejection::too_short);
}

TEST_CASE("cleaner filters on the number of words", "[data][clean]") {
  CleanOptions options;
  options.min_words = 3;
  CHECK(rejection_of("one two", options) == Rejection::too_few_words);
  CHECK(rejection_of("one two three", options) == Rejection::kept);
  CHECK(rejection_of("one\ttwo\nthree", options) == Rejection::kept);
  // U+3000 IDEOGRAPHIC SPACE (Zs) separates words; U+00E9 does not.
  CHECK(rejection_of("one\xe3\x80\x80two\xe3\x80\x80three", options) == Rejection::kept);
  CHECK(rejection_of("one\xc3\xa9two three", options) == Rejection::too_few_words);
}

TEST_CASE("cleaner filters on the share of symbols", "[data][clean]") {
  CleanOptions options;
  options.max_symbol_ratio = 0.1;
  CHECK(rejection_of("aaaa aaaa!", options) == Rejection::kept);           // 1/10
  CHECK(rejection_of("aaaa aaa!", options) == Rejection::too_many_symbols);  // 1/9
  // Marks, numbers, letters and Zs are not symbols; U+2014 EM DASH is.
  options.max_symbol_ratio = 0.25;
  options.normalize = Normalization::none;
  CHECK(rejection_of("e\xcc\x81\xe3\x80\x80\xe2\x80\x94", options) == Rejection::kept);  // 1/4
  CHECK(rejection_of("e\xcc\x81\xe2\x80\x94", options) == Rejection::too_many_symbols);  // 1/3
}

TEST_CASE("cleaner filters on the share of repeated lines", "[data][clean]") {
  CleanOptions options;
  options.max_repeated_line_ratio = 0.5;
  CHECK(rejection_of("x\ny\nx\ny", options) == Rejection::kept);                   // 2/4
  CHECK(rejection_of("x\ny\nx\ny\nx", options) == Rejection::repeated_lines);      // 3/5
  // Blank lines do not count, and lines are compared after trimming.
  CHECK(rejection_of("x\n\n\n\ny", options) == Rejection::kept);                   // 0/2
  options.max_repeated_line_ratio = 0.3;
  CHECK(rejection_of("x  \nx\ny", options) == Rejection::repeated_lines);  // 1/3
  options.max_repeated_line_ratio = 0.34;
  CHECK(rejection_of("x  \nx\ny", options) == Rejection::kept);
}

TEST_CASE("cleaner applies the filters in the order of Rejection", "[data][clean]") {
  CleanOptions options;
  options.min_chars = 10;
  options.min_words = 5;
  options.max_symbol_ratio = 0.0;
  options.max_repeated_line_ratio = 0.0;
  CHECK(rejection_of("!!\n!!", options) == Rejection::too_short);
  options.min_chars = 1;
  CHECK(rejection_of("!!\n!!", options) == Rejection::too_few_words);
  options.min_words = 0;
  CHECK(rejection_of("!!\n!!", options) == Rejection::too_many_symbols);
  options.max_symbol_ratio = 1.0;
  CHECK(rejection_of("!!\n!!", options) == Rejection::repeated_lines);
}

TEST_CASE("cleaner refuses impossible options", "[data][clean]") {
  CleanOptions options;
  options.max_symbol_ratio = 1.5;
  CHECK_THROWS_AS(Cleaner(options), anvil::Error);
  options.max_symbol_ratio = 1.0;
  options.max_repeated_line_ratio = -0.1;
  CHECK_THROWS_AS(Cleaner(options), anvil::Error);
  options.max_repeated_line_ratio = 1.0;
  options.min_chars = 10;
  options.max_chars = 5;
  CHECK_THROWS_AS(Cleaner(options), anvil::Error);
}

TEST_CASE("clean counts add up results and other counts", "[data][clean]") {
  anvil::core::CleanCounts counts;
  CleanResult repaired;
  repaired.repaired_utf8 = true;
  repaired.control_removed = 3;
  CleanResult short_one;
  short_one.rejection = Rejection::too_short;
  counts.add(repaired);
  counts.add(short_one);
  CHECK(counts.documents == 2);
  CHECK(counts.repaired_utf8 == 1);
  CHECK(counts.control_removed == 3);
  CHECK(counts.kept() == 1);
  CHECK(counts.by_reason[static_cast<std::size_t>(Rejection::too_short)] == 1);

  anvil::core::CleanCounts total;
  total.add(counts);
  total.add(counts);
  CHECK(total.documents == 4);
  CHECK(total.repaired_utf8 == 2);
  CHECK(total.control_removed == 6);
  CHECK(total.kept() == 2);
  CHECK(total.by_reason[static_cast<std::size_t>(Rejection::too_short)] == 2);
}
