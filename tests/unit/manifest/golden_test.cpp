// Golden errors: each tests/fixtures/manifests/broken/<name>.toml must fail to load or validate,
// and print_diagnostics must print exactly broken/<name>.expected.
//
// The test runs with tests/fixtures/manifests as the working directory and loads
// "broken/<name>.toml", so paths in the output are relative to that folder whatever the build
// directory is. Lines `# --set KEY=VALUE` at the top of a case are its overrides. Run with
// ANVIL_UPDATE_GOLDEN=1 to rewrite the .expected files (then review the diff).

#include "manifest/diagnostic_printer.h"
#include "manifest/manifest.h"
#include "manifest/validate.h"
#include "test_support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using anvil::core::Manifest;
using anvil::core::Override;

namespace {

std::vector<Override> overrides_of(const std::string& text) {
  std::vector<Override> overrides;
  std::istringstream lines(text);
  const std::string prefix = "# --set ";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) break;
    overrides.push_back(Override{line.substr(prefix.size())});
  }
  return overrides;
}

// What `anvil check` would print for the case.
std::string run_case(const std::string& relative) {
  try {
    Manifest manifest = Manifest::load(relative, overrides_of(anvil::test::read_text(relative)));
    anvil::core::validate_manifest(manifest, anvil::test::test_catalog());
  } catch (const anvil::ConfigError& error) {
    std::ostringstream out;
    anvil::core::print_diagnostics(out, error.diagnostics());
    return out.str();
  }
  return "<no error>\n";
}

}  // namespace

TEST_CASE("golden error output of broken manifests", "[manifest][golden]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  const bool update = std::getenv("ANVIL_UPDATE_GOLDEN") != nullptr;

  std::vector<std::string> cases;
  for (const fs::directory_entry& entry : fs::directory_iterator("broken"))
    if (entry.is_regular_file() && entry.path().extension() == ".toml")
      cases.push_back(entry.path().stem().string());
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 14);

  for (const std::string& name : cases) {
    const std::string manifest = "broken/" + name + ".toml";
    const std::string expected_path = "broken/" + name + ".expected";
    const std::string actual = run_case(manifest);
    if (update) std::ofstream(expected_path, std::ios::binary) << actual;
    INFO("case " << manifest);
    REQUIRE(fs::exists(expected_path));
    CHECK(actual != "<no error>\n");
    CHECK(actual == anvil::test::read_text(expected_path));
  }
}
