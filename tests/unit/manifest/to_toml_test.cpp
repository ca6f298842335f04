// to_toml: exact layout, number and string formatting, and that the output reads back to the
// same table (the resolved manifest saved with checkpoints must).

#include "manifest/manifest.h"
#include "manifest/validate.h"
#include "test_support.h"

#include <catch2/catch.hpp>

using anvil::core::Manifest;
using anvil::core::to_toml;
using anvil::core::to_toml_inline;

TEST_CASE("to_toml lays out values, sections and arrays of tables", "[manifest][to_toml]") {
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
  CHECK(to_toml(table) == R"(alpha = "a"
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

TEST_CASE("to_toml formats numbers, strings and keys so TOML reads them back",
          "[manifest][to_toml]") {
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
  CHECK(to_toml(table) ==
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
  const toml::table back = toml::parse(to_toml(table));
  CHECK(back == table);

  CHECK(to_toml_inline(toml::value<double>(1.0)) == "1.0");
  CHECK(to_toml_inline(toml::array{}) == "[]");
  CHECK(to_toml_inline(toml::table{}) == "{}");
}

TEST_CASE("the resolved manifest round-trips through to_toml", "[manifest][to_toml]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  for (const char* name : {"valid/minimal.toml", "valid/full.toml", "valid/child.toml"}) {
    INFO(name);
    Manifest manifest = Manifest::load(name);
    anvil::core::validate_manifest(manifest, anvil::test::test_catalog());
    const std::string text = to_toml(manifest.root());
    const toml::table back = toml::parse(text);
    CHECK(back == manifest.root());
    CHECK(to_toml(back) == text);  // stable
  }
}
