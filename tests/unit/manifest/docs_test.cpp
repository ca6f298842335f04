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
    const std::size_t heading = doc.find("### `[" + section + "]`");
    REQUIRE(heading != std::string::npos);
    // The section's table runs up to the next heading.
    const std::string part = doc.substr(heading, doc.find("\n#", heading + 1) - heading);
    for (const anvil::OptionSpec& spec : schema.specs()) {
      INFO("key " << spec.key());
      const std::size_t row = part.find("| `" + spec.key() + "` |");
      REQUIRE(row != std::string::npos);
      // A '|' inside a cell is written "\\|" in Markdown.
      std::string line = part.substr(row, part.find('\n', row) - row);
      for (std::size_t at = line.find("\\|"); at != std::string::npos; at = line.find("\\|", at))
        line.erase(at, 1);
      if (spec.default_value()) CHECK(line.find("`" + spec.default_text() + "`") != std::string::npos);
    }
  }
}
