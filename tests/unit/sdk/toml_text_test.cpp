// anvil/toml_text.h: format_toml's exact layout, number and string formatting, and that its
// output reads back to the same table; quote_string, append_utf8 and join.

#include <anvil/toml_text.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using anvil::append_utf8;
using anvil::format_toml;
using anvil::format_toml_value;
using anvil::join;
using anvil::quote_string;

TEST_CASE("format_toml lays out values, sections and arrays of tables", "[sdk][toml_text]") {
  const toml::table table = toml::parse(R"(
zeta = 1
alpha = "a"
[model]
plugin = "bigram"
dims = [1, 2, 3]
[model.attention]
n_head = 4
[outer.inner]
x = 0.1
[[loss]]
plugin = "ce"
[[loss]]
plugin = "z"
weight = 2.0
[empty]
)");
  CHECK(format_toml(table) == R"(alpha = "a"
zeta = 1

[empty]

[[loss]]
plugin = "ce"

[[loss]]
plugin = "z"
weight = 2.0

[model]
dims = [1, 2, 3]
plugin = "bigram"

[model.attention]
n_head = 4

[outer.inner]
x = 0.1
)");
}

TEST_CASE("format_toml formats numbers, strings and keys so TOML reads them back",
          "[sdk][toml_text]") {
  toml::table table;
  table.insert("small", 0.1);
  table.insert("whole", 2.0);
  table.insert("tiny", 3e-4);
  table.insert("huge", 1e300);
  table.insert("neg", -7);
  toml::value<std::int64_t> hex(255);
  hex.flags(toml::value_flags::format_as_hexadecimal);  // written in decimal regardless
  table.insert("hex", hex);
  table.insert("text", "tab\there \"quoted\" back\\slash\nline\x01");
  table.insert("utf8", "héllo");
  table.insert("with space", true);
  table.insert("inline", toml::array{toml::table{{"a", 1}}, 2});
  CHECK(format_toml(table) ==
        "hex = 255\n"
        "huge = 1e+300\n"
        "inline = [{ a = 1 }, 2]\n"
        "neg = -7\n"
        "small = 0.1\n"
        "text = \"tab\\there \\\"quoted\\\" back\\\\slash\\nline\\u0001\"\n"
        "tiny = 0.0003\n"
        "utf8 = \"héllo\"\n"
        "whole = 2.0\n"
        "\"with space\" = true\n");
  const toml::table back = toml::parse(format_toml(table));
  CHECK(back == table);

  CHECK(format_toml_value(toml::value<double>(1.0)) == "1.0");
  CHECK(format_toml_value(toml::array{}) == "[]");
  CHECK(format_toml_value(toml::table{}) == "{}");
}

TEST_CASE("quote_string escapes what TOML and JSON need escaped", "[sdk][toml_text]") {
  CHECK(quote_string("") == "\"\"");
  CHECK(quote_string("plain héllo") == "\"plain héllo\"");
  CHECK(quote_string("\"\\") == "\"\\\"\\\\\"");
  CHECK(quote_string("\b\t\n\f\r") == "\"\\b\\t\\n\\f\\r\"");
  CHECK(quote_string(std::string("\0\x01\x1f\x7f", 4)) == "\"\\u0000\\u0001\\u001F\\u007F\"");
  CHECK(quote_string("\xff") == "\"\xff\"");  // not UTF-8: copied as it is
  const toml::table back = toml::parse("k = " + quote_string("a\x01\"\\\tz\x7f"));
  CHECK(back["k"].value_or(std::string()) == "a\x01\"\\\tz\x7f");
}

TEST_CASE("append_utf8 writes one to four bytes", "[sdk][toml_text]") {
  std::string out;
  append_utf8(out, U'a');
  append_utf8(out, U'\u00E9');      // é
  append_utf8(out, U'\u20AC');      // €
  append_utf8(out, U'\U0001F642');  // 🙂
  CHECK(out == "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x99\x82");
  out.clear();
  for (const char32_t limit : {0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF})
    append_utf8(out, limit);
  CHECK(out == "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
}

TEST_CASE("join puts the separator between words", "[sdk][toml_text]") {
  CHECK(join({}) == "");
  CHECK(join({"a"}) == "a");
  CHECK(join({"a", "b", "c"}) == "a, b, c");
  CHECK(join({"a", "b"}, " -> ") == "a -> b");
}
