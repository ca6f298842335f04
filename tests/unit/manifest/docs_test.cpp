// docs/manifest.md is the reference users read; it must document every key the core declares
// (core_schema.cpp), with the declared default, so the page cannot fall behind the code.
#include "manifest/validate.h"

#include <anvil/toml_text.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

namespace {
std::string read_manifest_doc() {
  std::ifstream in(std::string(ANVIL_SOURCE_DIR) + "/docs/manifest.md");
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("docs/manifest.md documents every core key with its default", "[manifest][docs]") {
  const std::string doc = read_manifest_doc();
  for (const auto& [section, schema] : anvil::core::core_sections()) {
    INFO("section [" << section << "]");
    CHECK(doc.find("### `[" + section + "]`") != std::string::npos);
    for (const anvil::OptionSpec& spec : schema.specs()) {
      INFO("key " << spec.key());
      const std::size_t row = doc.find("| `" + spec.key() + "` |");
      REQUIRE(row != std::string::npos);
      const std::string line = doc.substr(row, doc.find('\n', row) - row);
      CHECK(line.find("`" + spec.default_text() + "`") != std::string::npos);
    }
  }
}
