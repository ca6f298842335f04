// Options (typed reads of a validated table) and Diagnostics (collection, ordering, throwing).

#include <anvil/options.h>

#include <catch2/catch.hpp>

using anvil::ConfigError;
using anvil::Diagnostic;
using anvil::Diagnostics;
using anvil::Options;

namespace {

toml::table parse(const std::string& text) {
  return toml::parse(text, std::string_view("o.toml"));
}

}  // namespace

TEST_CASE("Options reads every supported type", "[sdk][options]") {
  const toml::table table = parse(
      "flag = true\nn = 42\nbig = 9000000000\nx = 0.5\nwhole = 3\nname = \"gpt\"\n"
      "ints = [1, 2]\nfloats = [1, 2.5]\nnames = [\"a\", \"b\"]\n[sub]\nk = 1\n");
  Diagnostics diagnostics;
  const Options options(table, "model", diagnostics);

  CHECK(options.get<bool>("flag") == true);
  CHECK(options.get<int>("n") == 42);
  CHECK(options.get<std::int64_t>("big") == 9000000000);
  CHECK(options.get<double>("x") == 0.5);
  CHECK(options.get<double>("whole") == 3.0);  // integers read as floats
  CHECK(options.get<std::string>("name") == "gpt");
  CHECK(options.get<std::vector<std::int64_t>>("ints") == std::vector<std::int64_t>{1, 2});
  CHECK(options.get<std::vector<double>>("floats") == std::vector<double>{1.0, 2.5});
  CHECK(options.get<std::vector<std::string>>("names") == std::vector<std::string>{"a", "b"});
  CHECK(options.has("flag"));
  CHECK_FALSE(options.has("nope"));
  CHECK(options.get_or<int>("nope", 7) == 7);
  CHECK(options.get_or<int>("n", 7) == 42);
  CHECK(options.key_path() == "model");
  CHECK(options.qualify("n") == "model.n");
  CHECK(options.qualify("a b") == "model.\"a b\"");
  CHECK(&options.table() == &table);

  const Options sub = options.child("sub");
  CHECK(sub.key_path() == "model.sub");
  CHECK(sub.get<int>("k") == 1);
  CHECK(diagnostics.empty());

  const Options absent = options.child("absent");
  CHECK_FALSE(absent.has("k"));
  CHECK(diagnostics.empty());  // an absent sub-table is empty, not an error
}

TEST_CASE("Options records problems and returns value-initialised results", "[sdk][options]") {
  const toml::table table =
      parse("n = \"many\"\nbig = 9000000000\nints = [1, \"x\"]\nscalar = 1\n");
  Diagnostics diagnostics;
  const Options options(table, "model", diagnostics);

  CHECK(options.get<int>("n") == 0);
  CHECK(options.get<int>("big") == 0);
  CHECK(options.get<std::vector<std::int64_t>>("ints").empty());
  CHECK(options.get<std::string>("missing").empty());
  CHECK(options.get_or<double>("n", 1.0) == 0.0);  // present but wrong: still an error
  CHECK_FALSE(options.child("scalar").has("x"));
  options.error("scalar", "must divide 12", "try 3");
  options.error("absent", "is needed here");

  const std::vector<Diagnostic>& d = diagnostics.items();
  REQUIRE(d.size() == 8);
  CHECK(d[0].key == "model.n");
  CHECK(d[0].message == "expected integer, got string \"many\"");
  CHECK(d[0].file == "o.toml");
  CHECK(d[0].line == 1);
  CHECK(d[0].column == 5);
  CHECK(d[1].message == "must be between -2147483648 and 2147483647 (got 9000000000)");
  CHECK(d[2].key == "model.ints[1]");
  CHECK(d[2].message == "expected integer, got string \"x\"");
  CHECK(d[3].key == "model.missing");
  CHECK(d[3].message == "missing required key 'missing'");
  CHECK(d[3].hint == "add missing = <string> to [model]");
  CHECK(d[3].line == 1);  // the table's position (the root table of o.toml)
  CHECK(d[4].message == "expected float, got string \"many\"");
  CHECK(d[5].key == "model.scalar");
  CHECK(d[5].message == "expected table, got integer 1");
  CHECK(d[6].message == "must divide 12");
  CHECK(d[6].hint == "try 3");
  CHECK(d[6].line == 4);
  CHECK(d[6].column == 10);
  CHECK(d[7].key == "model.absent");
  CHECK(d[7].line == 1);
}

TEST_CASE("Diagnostics throws everything in source order", "[sdk][options]") {
  Diagnostics diagnostics;
  diagnostics.throw_if_any();  // nothing collected: no throw

  const toml::table table = parse("a = 1\nb = 2\n");
  diagnostics.add(table.get("b")->source(), "b", "second");
  diagnostics.add(table.get("a")->source(), "a", "first", "hint");
  Diagnostic other;
  other.file = "a_other.toml";
  other.message = "zeroth";
  diagnostics.add(other);
  CHECK(diagnostics.size() == 3);
  try {
    diagnostics.throw_if_any();
    FAIL("expected a ConfigError");
  } catch (const ConfigError& error) {
    REQUIRE(error.diagnostics().size() == 3);
    CHECK(error.diagnostics()[0].message == "zeroth");
    CHECK(error.diagnostics()[1].message == "first");
    CHECK(error.diagnostics()[1].hint == "hint");
    CHECK(error.diagnostics()[1].line == 1);
    CHECK(error.diagnostics()[1].column == 5);
    CHECK(error.diagnostics()[2].message == "second");
    CHECK(error.exit_code() == anvil::kExitConfig);
  }
}
