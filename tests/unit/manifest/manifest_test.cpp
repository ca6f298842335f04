// Manifest::load / parse: reading files, `extends` (merge order, relative paths, cycles, missing
// files), and that every node keeps the file, line and column it came from.

#include "manifest/manifest.h"
#include "test_support.h"

#include <catch2/catch.hpp>

#include <fstream>

using anvil::ConfigError;
using anvil::core::Manifest;
namespace fs = std::filesystem;

namespace {

// The single diagnostic of the ConfigError that `load` throws.
template <class Load>
std::vector<anvil::Diagnostic> diagnostics_of(Load load) {
  try {
    load();
  } catch (const ConfigError& error) {
    return error.diagnostics();
  }
  FAIL("expected a ConfigError");
  return {};
}

std::string source_path(const toml::node& node) {
  return node.source().path ? *node.source().path : std::string("<none>");
}

}  // namespace

TEST_CASE("load reads a manifest and keeps source positions", "[manifest]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  const Manifest manifest = Manifest::load("valid/minimal.toml");

  CHECK(manifest.path() == anvil::test::fixture_dir() / "valid" / "minimal.toml");
  CHECK(manifest.path().is_absolute());
  CHECK(manifest.base_dir() == anvil::test::fixture_dir() / "valid");
  REQUIRE(manifest.files().size() == 1);
  CHECK(manifest.files()[0] == manifest.path());

  const toml::node* vocab = manifest.root().at_path("model.vocab_size").node();
  REQUIRE(vocab);
  CHECK(vocab->value<std::int64_t>() == 65);
  CHECK(source_path(*vocab) == "valid/minimal.toml");
  CHECK(vocab->source().begin.line == 7);
  CHECK(vocab->source().begin.column == 14);
  CHECK(source_path(manifest.root()) == "valid/minimal.toml");
}

TEST_CASE("load keeps an absolute path absolute", "[manifest]") {
  const fs::path path = anvil::test::fixture_dir() / "valid" / "child.toml";
  const Manifest manifest = Manifest::load(path);
  const toml::node* steps = manifest.root().at_path("training.steps").node();
  REQUIRE(steps);
  CHECK(source_path(*steps) == path.string());
  // Values from extended files name those files, absolute too.
  const toml::node* seed = manifest.root().at_path("run.seed").node();
  REQUIRE(seed);
  CHECK(source_path(*seed) == (anvil::test::fixture_dir() / "valid/base/common.toml").string());
}

TEST_CASE("a missing or unreadable manifest is a ConfigError naming it", "[manifest]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  auto missing = diagnostics_of([] { Manifest::load("valid/nope.toml"); });
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].file == "valid/nope.toml");
  CHECK(missing[0].line == 0);
  CHECK(missing[0].message == "cannot read manifest: file not found");

  auto folder = diagnostics_of([] { Manifest::load("valid"); });
  REQUIRE(folder.size() == 1);
  CHECK(folder[0].message == "cannot read manifest: it is a directory");
}

TEST_CASE("syntax errors carry file, line, column and toml++'s description", "[manifest]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  auto diagnostics = diagnostics_of([] { Manifest::load("broken/syntax_error.toml"); });
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0].file == "broken/syntax_error.toml");
  CHECK(diagnostics[0].line == 5);
  CHECK(diagnostics[0].column == 12);
  CHECK(diagnostics[0].key.empty());
  CHECK_THAT(diagnostics[0].message, Catch::Contains("expected a comment or whitespace"));
}

TEST_CASE("parse reads text under a name", "[manifest]") {
  const Manifest manifest = Manifest::parse("[training]\nsteps = 5\n", "inline.toml");
  CHECK(manifest.path() == "inline.toml");
  CHECK(manifest.base_dir() == fs::current_path());
  REQUIRE(manifest.files().size() == 1);
  const toml::node* steps = manifest.root().at_path("training.steps").node();
  REQUIRE(steps);
  CHECK(source_path(*steps) == "inline.toml");
  CHECK(steps->source().begin.line == 2);

  auto diagnostics = diagnostics_of([] { Manifest::parse("a = [", "inline.toml"); });
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0].file == "inline.toml");
  CHECK(diagnostics[0].line == 1);
}

TEST_CASE("parse resolves extends against the current directory", "[manifest][extends]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir() / "extends");
  const Manifest manifest = Manifest::parse("extends = \"a.toml\"\n[run]\nname = \"x\"\n", "mem");
  CHECK(manifest.root().at_path("run.name").value<std::string>() == "x");
  CHECK(manifest.root().at_path("training.steps").value<std::int64_t>() == 1);
  CHECK(source_path(*manifest.root().at_path("training.steps").node()) == "a.toml");
  CHECK_FALSE(manifest.root().contains("extends"));
}

TEST_CASE("extends merges tables key by key and later files win", "[manifest][extends]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  const Manifest manifest = Manifest::load("extends/order.toml");
  const toml::table& root = manifest.root();

  CHECK_FALSE(root.contains("extends"));
  CHECK(root.at_path("run.name").value<std::string>() == "order");       // the file itself
  CHECK(root.at_path("run.seed").value<std::int64_t>() == 3);            // nested/b_base.toml
  CHECK(root.at_path("training.steps").value<std::int64_t>() == 2);      // b over a
  CHECK(root.at_path("training.seq_len").value<std::int64_t>() == 16);   // the file over a
  CHECK(root.at_path("model.plugin").value<std::string>() == "bigram");  // a
  CHECK(root.at_path("model.vocab_size").value<std::int64_t>() == 10);   // a
  CHECK(root.at_path("model.n_embd").value<std::int64_t>() == 4);        // b

  // Arrays are values: replaced, not concatenated.
  const toml::array* train = root.at_path("data.train").as_array();
  REQUIRE(train);
  REQUIRE(train->size() == 1);
  CHECK(train->get(0)->value<std::string>() == "b.txt");

  // Each value names the file it came from, relative to the current directory as the main
  // path was; nested extends are resolved against their own folder.
  CHECK(source_path(*root.at_path("run.name").node()) == "extends/order.toml");
  CHECK(source_path(*root.at_path("model.vocab_size").node()) == "extends/a.toml");
  CHECK(source_path(*root.at_path("model.n_embd").node()) == "extends/nested/b.toml");
  CHECK(source_path(*root.at_path("run.seed").node()) == "extends/nested/b_base.toml");
  CHECK(root.at_path("run.seed").node()->source().begin.line == 2);
  CHECK(root.at_path("run.seed").node()->source().begin.column == 8);
  // Array elements keep theirs as well.
  CHECK(source_path(*train->get(0)) == "extends/nested/b.toml");
  CHECK(train->get(0)->source().begin.line == 7);

  const fs::path dir = anvil::test::fixture_dir() / "extends";
  const std::vector<fs::path> expected = {dir / "order.toml", dir / "a.toml", dir / "nested/b.toml",
                                          dir / "nested/b_base.toml"};
  CHECK(manifest.files() == expected);
}

TEST_CASE("a file named twice through different extends is not a cycle", "[manifest][extends]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  const Manifest manifest = Manifest::load("extends/diamond.toml");
  CHECK(manifest.root().at_path("run.seed").value<std::int64_t>() == 3);
  CHECK(manifest.root().at_path("training.steps").value<std::int64_t>() == 2);
  CHECK(manifest.files().size() == 3);  // each file listed once
}

TEST_CASE("a derived file may replace a base table with a value", "[manifest][extends]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  const Manifest manifest = Manifest::load("extends/scalar_over_table.toml");
  CHECK(manifest.root().at_path("data").value<std::string>() == "all.txt");
  CHECK(manifest.root().at_path("training.steps").value<std::int64_t>() == 1);
}

TEST_CASE("extends cycles name the chain", "[manifest][extends]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  auto self = diagnostics_of([] { Manifest::load("extends/self.toml"); });
  REQUIRE(self.size() == 1);
  CHECK(self[0].file == "extends/self.toml");
  CHECK(self[0].line == 1);
  CHECK(self[0].column == 11);
  CHECK(self[0].key == "extends");
  CHECK(self[0].message == "extends cycle: extends/self.toml -> extends/self.toml");

  auto two = diagnostics_of([] { Manifest::load("broken/extends_cycle.toml"); });
  REQUIRE(two.size() == 1);
  CHECK(two[0].file == "broken/include/cycle_b.toml");
  CHECK(two[0].message ==
        "extends cycle: broken/extends_cycle.toml -> broken/include/cycle_b.toml -> "
        "broken/extends_cycle.toml");
}

TEST_CASE("a missing extends file is reported at the extends value", "[manifest][extends]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  auto missing = diagnostics_of([] { Manifest::load("broken/extends_missing.toml"); });
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].file == "broken/extends_missing.toml");
  CHECK(missing[0].line == 1);
  CHECK(missing[0].column == 35);
  CHECK(missing[0].message ==
        "cannot extend 'include/nope.toml': file not found (looked for broken/include/nope.toml)");

  auto bad_type = diagnostics_of([] { Manifest::load("extends/bad_type.toml"); });
  REQUIRE(bad_type.size() == 1);
  CHECK(bad_type[0].message == "expected string or array of strings, got integer 5");
}

TEST_CASE("extends with an absolute path", "[manifest][extends]") {
  const fs::path dir = fs::temp_directory_path() / "anvil_manifest_test_abs";
  fs::create_directories(dir);
  const fs::path base = anvil::test::fixture_dir() / "extends" / "a.toml";
  {
    std::ofstream out(dir / "main.toml");
    out << "extends = \"" << base.string() << "\"\n[run]\nname = \"abs\"\n";
  }
  const Manifest manifest = Manifest::load(dir / "main.toml");
  CHECK(manifest.root().at_path("run.name").value<std::string>() == "abs");
  CHECK(source_path(*manifest.root().at_path("training.steps").node()) == base.string());
  fs::remove_all(dir);
}

TEST_CASE("moving a Manifest keeps source positions", "[manifest]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  Manifest first = Manifest::load("valid/minimal.toml");
  Manifest moved = std::move(first);
  const toml::node* vocab = moved.root().at_path("model.vocab_size").node();
  REQUIRE(vocab);
  CHECK(source_path(*vocab) == "valid/minimal.toml");
}
