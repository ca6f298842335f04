// The resolved manifest as anvil::format_toml writes it (what `anvil check --dump` prints and what
// is saved with checkpoints) reads back to the same table and writes the same text again. The
// writer's own layout and formatting are tested in tests/unit/sdk/toml_text_test.cpp.

#include "manifest/manifest.h"
#include "manifest/validate.h"
#include "test_support.h"

#include <anvil/toml_text.h>

#include <catch2/catch.hpp>

using anvil::format_toml;
using anvil::core::Manifest;

TEST_CASE("the resolved manifest round-trips through format_toml", "[manifest][to_toml]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  for (const char* name : {"valid/minimal.toml", "valid/full.toml", "valid/child.toml"}) {
    INFO(name);
    Manifest manifest = Manifest::load(name);
    anvil::core::validate_manifest(manifest, anvil::test::test_catalog());
    const std::string text = format_toml(manifest.root());
    const toml::table back = toml::parse(text);
    CHECK(back == manifest.root());
    CHECK(format_toml(back) == text);  // stable
  }
}
