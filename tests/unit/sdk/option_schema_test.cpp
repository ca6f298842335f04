// OptionSchema / OptionSpec: declarations, defaults, and the exact messages validation gives for
// each rule (type, range, choices, arrays, required, unknown keys).

#include <anvil/options.h>

#include <catch2/catch.hpp>

using anvil::Diagnostic;
using anvil::Diagnostics;
using anvil::OptionSchema;
using anvil::OptionSpec;
using anvil::OptionType;

namespace {

OptionSchema optimizer_schema() {
  OptionSchema s;
  s.add("lr", 0.001, "Learning rate.").min(0);
  s.add("momentum", 0.9, "Momentum.").range(0, 1);
  s.add("steps", 10, "Steps.").min(1);
  s.add("max_norm", 5.0, "Clip.").max(10);
  s.add("schedule", "cosine", "Schedule.").one_of({"cosine", "linear"});
  s.add("betas", std::vector<double>{0.9, 0.999}, "Betas.").range(0, 1);
  s.add("sizes", std::vector<std::int64_t>{1, 2}, "Sizes.").min(1);
  s.add("names", std::vector<std::string>{}, "Names.").one_of({"a", "b"});
  s.add("nesterov", false, "Nesterov.");
  s.add("extra", OptionType::table, "Free-form.");
  s.add("vocab_size", OptionType::integer, "Number of distinct token ids.").required();
  return s;
}

// Validates `text` (a table named [optimizer] in file "t.toml") and returns the diagnostics.
std::vector<Diagnostic> check(const std::string& text,
                              toml::table* out = nullptr,
                              const std::vector<std::string>& reserved = {}) {
  toml::table root = toml::parse("[optimizer]\n" + text, std::string_view("t.toml"));
  toml::table& table = *root["optimizer"].as_table();
  Diagnostics diagnostics;
  optimizer_schema().validate(table, "optimizer", diagnostics, reserved);
  if (out) *out = std::move(table);
  return diagnostics.items();
}

// The single diagnostic for `text` (with vocab_size given so it is not missing).
Diagnostic one(const std::string& text) {
  auto found = check("vocab_size = 1\n" + text);
  REQUIRE(found.size() == 1);
  return found[0];
}

}  // namespace

TEST_CASE("OptionSchema declares options with typed defaults", "[sdk][schema]") {
  const OptionSchema s = optimizer_schema();
  REQUIRE(s.specs().size() == 11);
  const OptionSpec* lr = s.find("lr");
  REQUIRE(lr);
  CHECK(lr->type() == OptionType::floating);
  CHECK(lr->doc() == "Learning rate.");
  CHECK(lr->lower() == 0.0);
  CHECK_FALSE(lr->upper());
  CHECK(lr->default_text() == "0.001");
  CHECK(s.find("steps")->type() == OptionType::integer);
  CHECK(s.find("steps")->default_text() == "10");
  CHECK(s.find("max_norm")->default_text() == "5.0");
  CHECK(s.find("schedule")->default_text() == "\"cosine\"");
  CHECK(s.find("betas")->default_text() == "[0.9, 0.999]");
  CHECK(s.find("sizes")->default_text() == "[1, 2]");
  CHECK(s.find("names")->default_text() == "[]");
  CHECK(s.find("nesterov")->default_text() == "false");
  CHECK(s.find("extra")->default_text().empty());
  CHECK(s.find("extra")->default_value() == nullptr);
  CHECK(s.find("vocab_size")->is_required());
  CHECK(s.find("nope") == nullptr);
  CHECK(s.find("schedule")->choices() == std::vector<std::string>{"cosine", "linear"});
}

TEST_CASE("OptionSpec rules", "[sdk][schema]") {
  OptionSpec spec("x", OptionType::floating, "X.");
  spec.default_node(toml::value<std::int64_t>(3));  // integers are fine for floats...
  REQUIRE(spec.default_value());
  CHECK(spec.default_value()->is_floating_point());  // ...and stored as floats
  CHECK(spec.default_text() == "3.0");
  spec.required();
  CHECK(spec.is_required());
  CHECK(spec.default_value() == nullptr);

  OptionSpec integer("n", OptionType::integer, "N.");
  CHECK_THROWS_AS(integer.default_node(toml::value<double>(1.5)), anvil::Error);
  OptionSpec strings("s", OptionType::string_array, "S.");
  CHECK_THROWS_AS(strings.default_node(toml::array{"a", 1}), anvil::Error);

  OptionSchema schema;
  schema.add("k", 1, "K.");
  CHECK_THROWS_AS(schema.add("k", 2, "again"), anvil::Error);
  CHECK(to_string(OptionType::floating_array) == "array of floats");
  CHECK(to_string(OptionType::string_array) == "array of strings");
}

TEST_CASE("validation fills in defaults and accepts valid values", "[sdk][schema]") {
  toml::table table;
  const auto found = check(
      "vocab_size = 50\nlr = 1\nbetas = [0, 0.5]\nsizes = [3]\nnames = [\"b\"]\nextra = { a = 1 "
      "}\n",
      &table);
  CHECK(found.empty());
  CHECK(table["momentum"].value_exact<double>() == 0.9);
  CHECK(table["schedule"].value_exact<std::string>() == "cosine");
  CHECK(table["steps"].value_exact<std::int64_t>() == 10);
  CHECK(table["nesterov"].value_exact<bool>() == false);
  CHECK(table["max_norm"].value_exact<double>() == 5.0);
  // Integers given for floats are stored as floats, keeping their source position.
  REQUIRE(table["lr"].is_floating_point());
  CHECK(table["lr"].value_exact<double>() == 1.0);
  CHECK(*table["lr"].node()->source().path == "t.toml");
  CHECK(table["lr"].node()->source().begin.line == 3);
  CHECK(table["lr"].node()->source().begin.column == 6);
  const toml::array& betas = *table["betas"].as_array();
  CHECK(betas[0].is_floating_point());
  CHECK(betas[0].source().begin.line == 4);
  CHECK(betas[0].source().begin.column == 10);
  // Absent options without a default stay absent.
  toml::table bare;
  check("vocab_size = 1\n", &bare);
  CHECK_FALSE(bare.contains("extra"));
}

TEST_CASE("wrong types", "[sdk][schema]") {
  Diagnostic d = one("steps = \"abc\"");
  CHECK(d.file == "t.toml");
  CHECK(d.line == 3);
  CHECK(d.column == 9);
  CHECK(d.key == "optimizer.steps");
  CHECK(d.message == "expected integer, got string \"abc\"");
  CHECK(d.hint.empty());

  d = one("steps = 2.0");
  CHECK(d.message == "expected integer, got float 2.0");
  CHECK(d.hint == "write 2 (without a decimal point) for an integer");
  CHECK(one("steps = 2.5").hint.empty());

  CHECK(one("lr = \"fast\"").message == "expected float, got string \"fast\"");
  CHECK(one("nesterov = 1").message == "expected boolean, got integer 1");
  d = one("schedule = 5");
  CHECK(d.message == "expected string, got integer 5");
  CHECK(d.hint == "quote it to make it a string: \"5\"");
  CHECK(one("lr = [1, 2]").message == "expected float, got array [1, 2]");
  CHECK(one("lr = { a = 1 }").message == "expected float, got table");
  CHECK(one("extra = 3").message == "expected table, got integer 3");
  CHECK(one("lr = 1979-05-27").message == "expected float, got date 1979-05-27");
  // Long values are cut short in messages.
  CHECK(one("schedule = \"" + std::string(50, 'x') + "\"").message ==
        "must be one of \"cosine\", \"linear\" (got \"" + std::string(40, 'x') + "...\")");
  CHECK(one("lr = \"" + std::string(50, 'y') + "\"").message ==
        "expected float, got string \"" + std::string(40, 'y') + "...\"");
}

TEST_CASE("arrays are checked element by element", "[sdk][schema]") {
  Diagnostic d = one("betas = 0.9");
  CHECK(d.key == "optimizer.betas");
  CHECK(d.message == "expected array of floats, got float 0.9");

  d = one("betas = [0.9, \"x\"]");
  CHECK(d.key == "optimizer.betas[1]");
  CHECK(d.column == 15);
  CHECK(d.message == "expected float, got string \"x\"");

  d = one("betas = [0.9, 1.5]");
  CHECK(d.key == "optimizer.betas[1]");
  CHECK(d.message == "must be between 0 and 1 (got 1.5)");

  CHECK(one("sizes = [1, 2.0]").message == "expected integer, got float 2.0");
  CHECK(one("sizes = [0]").message == "must be >= 1 (got 0)");
  d = one("names = [\"a\", \"c\"]");
  CHECK(d.key == "optimizer.names[1]");
  CHECK(d.message == "must be one of \"a\", \"b\" (got \"c\")");
  CHECK(d.hint.empty());  // one letter: nothing is close enough

  const auto two = check("vocab_size = 1\nsizes = [\"a\", 0]\n");
  REQUIRE(two.size() == 2);
  CHECK(two[0].key == "optimizer.sizes[0]");
  CHECK(two[1].key == "optimizer.sizes[1]");
}

TEST_CASE("ranges are inclusive", "[sdk][schema]") {
  CHECK(one("steps = 0").message == "must be >= 1 (got 0)");
  CHECK(check("vocab_size = 1\nsteps = 1\nmomentum = 1\nlr = 0\nmax_norm = 10\n").empty());
  CHECK(one("momentum = 1.5").message == "must be between 0 and 1 (got 1.5)");
  CHECK(one("momentum = -1").message == "must be between 0 and 1 (got -1)");
  CHECK(one("momentum = nan").message == "must be between 0 and 1 (got nan)");
  CHECK(one("max_norm = 10.5").message == "must be <= 10 (got 10.5)");
  CHECK(one("lr = -inf").message == "must be >= 0 (got -inf)");
}

TEST_CASE("choices", "[sdk][schema]") {
  const Diagnostic d = one("schedule = \"cosin\"");
  CHECK(d.key == "optimizer.schedule");
  CHECK(d.message == "must be one of \"cosine\", \"linear\" (got \"cosin\")");
  CHECK(d.hint == "did you mean 'cosine'?");
  CHECK(one("schedule = \"step\"").hint.empty());
}

TEST_CASE("missing required keys are reported at the table", "[sdk][schema]") {
  const auto found = check("lr = 0.1\n");
  REQUIRE(found.size() == 1);
  CHECK(found[0].key == "optimizer.vocab_size");
  CHECK(found[0].message == "missing required key 'vocab_size'");
  CHECK(found[0].hint ==
        "add vocab_size = <integer> to [optimizer] (Number of distinct token ids)");
  CHECK(found[0].file == "t.toml");
  CHECK(found[0].line == 1);  // the [optimizer] header
  CHECK(found[0].column == 1);
}

TEST_CASE("unknown keys get a suggestion or the list of valid keys", "[sdk][schema]") {
  Diagnostic d = one("lrr = 0.1");
  CHECK(d.key == "optimizer.lrr");
  CHECK(d.message == "unknown key 'lrr' in [optimizer]");
  CHECK(d.hint == "did you mean 'lr'?");
  CHECK(d.line == 3);
  CHECK(d.column == 1);  // the key, not the value

  d = one("zzzzzz = 1");
  CHECK(
      d.hint ==
      "valid keys: lr, momentum, steps, max_norm, schedule, betas, sizes, names, nesterov, extra, "
      "vocab_size");

  // Reserved keys are skipped, and offered as suggestions.
  toml::table table;
  auto found = check("vocab_size = 1\nplugin = \"x\"\nplugn = 1\n", &table, {"plugin"});
  REQUIRE(found.size() == 1);
  CHECK(found[0].hint == "did you mean 'plugin'?");

  OptionSchema empty;
  toml::table t = toml::parse("a = 1");
  Diagnostics diagnostics;
  empty.validate(t, "offload", diagnostics, {"plugin"});
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics.items()[0].hint == "valid keys: plugin");
  Diagnostics none;
  empty.validate(t, "", none);
  CHECK(none.items()[0].message == "unknown key 'a' in the top level");
  CHECK(none.items()[0].hint == "the top level takes no keys");
}

TEST_CASE("all problems of a table are collected", "[sdk][schema]") {
  const auto found = check("lr = -1\nmomentum = \"x\"\nbogus = 1\n");
  REQUIRE(found.size() == 4);  // lr, momentum, bogus (table order), then the missing key
  CHECK(found[3].message == "missing required key 'vocab_size'");
}
