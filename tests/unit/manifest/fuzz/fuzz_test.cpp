// Mutation fuzzing of manifest loading and validation. Valid fixture manifests (and a few
// overrides) are mutated deterministically (seeded std::mt19937): bytes deleted, duplicated,
// swapped, inserted; truncation; lines swapped; TOML tokens and extreme values injected. Every
// mutant must load and validate, or throw anvil::ConfigError / anvil::Error; anything else (a
// crash, another exception) fails. Errors are also printed, and successes serialized and read
// back, so the printer and format_toml see the same inputs.

#include "manifest/diagnostic_printer.h"
#include "manifest/manifest.h"
#include "manifest/validate.h"
#include "test_support.h"

#include <anvil/toml_text.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

namespace fs = std::filesystem;
using anvil::core::Manifest;
using anvil::core::Override;

namespace {

constexpr int kMutantsPerFixture = 400;

const std::vector<std::string>& tokens() {
  static const std::vector<std::string> list = [] {
    std::vector<std::string> t = {
        "[",
        "]",
        "[[",
        "]]",
        "=",
        "\"",
        "'",
        "\"\"\"",
        "'''",
        "{",
        "}",
        ",",
        ".",
        "#",
        "\n",
        "\\u",
        "\\uD800",
        "\\U0010FFFF",
        "\\x",
        "\t",
        "\r\n",
        std::string(1, '\0'),
        "\xff\xfe",
        "\xc3",
        "é",
        "99999999999999999999",
        "-9223372036854775808",
        "1e99999",
        "0x",
        "0o8",
        "-0.0",
        "inf",
        "nan",
        "+nan",
        "1979-05-27T07:32:00Z",
        "07:32",
        "true",
        "fals",
        "extends = \"full.toml\"",
        "extends = \"mutant.toml\"",
        "extends = [\"base/base.toml\", 3]",
        "extends = \"base\"",
        "extends = \"/dev/null\"",
        "extends = \"nope.toml\"",
        "plugin = 5",
        "plugin = \"sgdd\"",
        "[training]",
        "[[loss]]",
        "[[eval]]",
        "[model]",
        "training = 5",
        "loss = []",
        "weight = \"w\"",
        "vocab_size = -1",
        "x = {}",
        "betas = [1, \"a\", [2]]",
        "key = \"value\"",
        "[a.b.c]",
        "a = 1\na = 2",
    };
    // Deep nesting: long dotted keys, and arrays past toml++'s nesting limit.
    std::string dotted = "a";
    for (int i = 0; i < 300; ++i) dotted += ".a";
    t.push_back(dotted + " = 1");
    t.push_back("[" + dotted + "]");
    t.push_back("x = " + std::string(300, '[') + std::string(300, ']'));
    t.push_back("x = " + std::string(100, '{') + std::string(100, '}'));
    t.push_back(std::string(5000, 'k') + " = 1");
    return t;
  }();
  return list;
}

class Mutator {
 public:
  explicit Mutator(std::uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return n == 0 ? 0 : rng_() % n; }

  std::string mutate(std::string text) {
    const std::size_t operations = 1 + below(4);
    for (std::size_t i = 0; i < operations; ++i) text = mutate_once(std::move(text));
    return text;
  }

 private:
  std::string mutate_once(std::string text) {
    const std::size_t at = below(text.size() + 1);
    switch (below(8)) {
      case 0:  // delete a few bytes
        if (!text.empty()) text.erase(std::min(at, text.size() - 1), 1 + below(8));
        break;
      case 1: {  // duplicate a range
        const std::size_t length = below(16) + 1;
        const std::string range = text.substr(std::min(at, text.size()), length);
        text.insert(std::min(at, text.size()), range);
        break;
      }
      case 2:  // swap two bytes
        if (text.size() > 1) std::swap(text[below(text.size())], text[below(text.size())]);
        break;
      case 3:  // insert a random byte
        text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(below(256)));
        break;
      case 4:  // truncate
        text.resize(at);
        break;
      case 5: {  // swap two lines
        std::vector<std::string> lines;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        if (lines.size() > 1) std::swap(lines[below(lines.size())], lines[below(lines.size())]);
        text.clear();
        for (const std::string& line : lines) text += line + "\n";
        break;
      }
      case 6:    // inject a token at a random byte
      case 7: {  // or at the start of a line
        std::size_t position = at;
        if (below(2) == 0) {
          const std::size_t newline = text.rfind('\n', at == 0 ? 0 : at - 1);
          position = newline == std::string::npos ? 0 : newline + 1;
        }
        const std::string& token = tokens()[below(tokens().size())];
        text.insert(std::min(position, text.size()), token + (below(2) ? "\n" : " "));
        break;
      }
    }
    return text;
  }

  std::mt19937 rng_;
};

void copy_tree(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

}  // namespace

TEST_CASE("mutated manifests load, validate or fail cleanly", "[manifest][fuzz]") {
  // The mutants live in a copy of valid/ so that extends of base/ still resolve.
  const fs::path work =
      fs::temp_directory_path() / ("anvil_manifest_fuzz_" + std::to_string(::getpid()));
  copy_tree(anvil::test::fixture_dir() / "valid", work);
  anvil::test::ScopedCwd cwd(work);

  const std::vector<std::string> base_overrides = {
      "training.steps=5", "optimizer.lr=0.1",         "loss[0].weight=2",
      "run.name=abc",     "model.attention.n_head=4", "data.train=[\"a\", \"b\"]"};

  Mutator mutator(20240607);
  int mutants = 0, loaded = 0, rejected = 0;
  for (const char* fixture : {"minimal.toml", "full.toml", "child.toml"}) {
    const std::string original = anvil::test::read_text(fixture);
    for (int i = 0; i < kMutantsPerFixture; ++i) {
      const std::string text = mutator.mutate(original);
      std::vector<Override> overrides;
      if (mutator.below(4) == 0) {
        std::string override = base_overrides[mutator.below(base_overrides.size())];
        if (mutator.below(2) == 0) override = mutator.mutate(override);
        overrides.push_back(Override{override});
      }
      std::ofstream(work / "mutant.toml", std::ios::binary | std::ios::trunc) << text;
      ++mutants;
      INFO("mutant " << i << " of " << fixture << ":\n" << text);
      try {
        Manifest manifest = Manifest::load("mutant.toml", overrides);
        anvil::core::validate_manifest(manifest, anvil::test::test_catalog());
        const std::string dumped = anvil::format_toml(manifest.root());
        const toml::table back = toml::parse(dumped);
        CHECK(anvil::format_toml(back) == dumped);
        ++loaded;
      } catch (const anvil::ConfigError& error) {
        CHECK_FALSE(error.diagnostics().empty());
        std::ostringstream printed;
        anvil::core::print_diagnostics(printed, error.diagnostics());
        CHECK_FALSE(printed.str().empty());
        ++rejected;
      } catch (const anvil::Error&) {
        ++rejected;
      } catch (const std::exception& error) {
        FAIL("unexpected exception: " << error.what());
      } catch (...) {
        FAIL("unexpected non-standard exception");
      }
    }
  }
  fs::remove_all(work);
  CHECK(mutants >= 500);
  // Both outcomes must be exercised, or the mutations are too weak (or too strong).
  CHECK(loaded > 20);
  CHECK(rejected > 200);
}
