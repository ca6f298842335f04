// `--set KEY=VALUE` overrides: TOML typing, bare words, created tables, indices, provenance, and
// every malformed form.

#include "manifest/overrides.h"
#include "manifest/manifest.h"

#include <catch2/catch.hpp>

using anvil::Diagnostic;
using anvil::Diagnostics;
using anvil::core::apply_override;
using anvil::core::Manifest;
using anvil::core::Override;

namespace {

toml::table base_table() {
  return toml::parse(
      "[training]\nsteps = 100\n[run]\nname = \"x\"\n[[loss]]\nplugin = \"ce\"\n[[loss]]\n"
      "plugin = \"z\"\n",
      std::string_view("base.toml"));
}

// Applies one override that must succeed; returns the table.
toml::table applied(const std::string& text, toml::table table = base_table()) {
  Diagnostics diagnostics;
  apply_override(table, Override{text}, diagnostics);
  if (!diagnostics.empty()) FAIL("unexpected diagnostic: " << diagnostics.items()[0].message);
  return table;
}

// Applies one override that must fail; returns its only diagnostic.
Diagnostic failure(const std::string& text, toml::table table = base_table()) {
  const toml::table before = table;
  Diagnostics diagnostics;
  apply_override(table, Override{text}, diagnostics);
  REQUIRE(diagnostics.size() == 1);
  CHECK(table == before);  // a failed override changes nothing
  return diagnostics.items()[0];
}

}  // namespace

TEST_CASE("override values are typed by TOML", "[manifest][overrides]") {
  CHECK(applied("training.steps=200").at_path("training.steps").value_exact<std::int64_t>() == 200);
  CHECK(applied("training.lr=0.5").at_path("training.lr").value_exact<double>() == 0.5);
  CHECK(applied("training.lr=1e-3").at_path("training.lr").value_exact<double>() == 1e-3);
  CHECK(applied("training.on=true").at_path("training.on").value_exact<bool>() == true);
  CHECK(applied("run.name=\"my run\"").at_path("run.name").value_exact<std::string>() == "my run");
  CHECK(applied("run.name='lit'").at_path("run.name").value_exact<std::string>() == "lit");
  CHECK(applied("run.date=2024-01-02").at_path("run.date").is_date());

  const toml::table arrays = applied("data.train=[\"a.txt\", \"b.txt\"]");
  const toml::array* train = arrays.at_path("data.train").as_array();
  REQUIRE(train);
  CHECK(train->size() == 2);
  CHECK(train->get(1)->value<std::string>() == "b.txt");
}

TEST_CASE("bare words become strings", "[manifest][overrides]") {
  CHECK(
      applied("training.schedule=cosine").at_path("training.schedule").value_exact<std::string>() ==
      "cosine");
  CHECK(applied("run.device=cuda:0").at_path("run.device").value_exact<std::string>() == "cuda:0");
  CHECK(applied("run.out_dir=runs/exp-1").at_path("run.out_dir").value_exact<std::string>() ==
        "runs/exp-1");
  CHECK(applied("run.tag=v1.2.3").at_path("run.tag").value_exact<std::string>() == "v1.2.3");
  CHECK(applied("run.tag=1cycle").at_path("run.tag").value_exact<std::string>() == "1cycle");
  CHECK(applied("run.tag=a+b").at_path("run.tag").value_exact<std::string>() == "a+b");
  // Words TOML knows keep their TOML type.
  CHECK(applied("run.tag=inf").at_path("run.tag").is_floating_point());
  CHECK(applied("run.tag=false").at_path("run.tag").is_boolean());
}

TEST_CASE("overrides create missing tables and keep the override as source",
          "[manifest][overrides]") {
  const toml::table table = applied("model.attention.n_head=4");
  const toml::node* heads = table.at_path("model.attention.n_head").node();
  REQUIRE(heads);
  CHECK(heads->value<std::int64_t>() == 4);
  REQUIRE(heads->source().path);
  CHECK(*heads->source().path == "--set model.attention.n_head=4");
  CHECK(heads->source().begin.line == 1);
  CHECK(heads->source().begin.column == 24);  // the value's column in the override text
  const toml::node* model = table.get("model");
  REQUIRE(model->source().path);
  CHECK(*model->source().path == "--set model.attention.n_head=4");

  const toml::table word = applied("run.device=cuda:0");
  CHECK(word.at_path("run.device").node()->source().begin.column == 12);
  // Untouched neighbours keep their own file.
  CHECK(*word.at_path("run.name").node()->source().path == "base.toml");
}

TEST_CASE("overrides replace values and merge inline tables", "[manifest][overrides]") {
  toml::table table = applied("training.steps=5");
  table = applied("training.steps=7", std::move(table));
  CHECK(table.at_path("training.steps").value<std::int64_t>() == 7);

  const toml::table merged = applied("training={ seq_len = 8 }");
  CHECK(merged.at_path("training.steps").value<std::int64_t>() == 100);
  CHECK(merged.at_path("training.seq_len").value<std::int64_t>() == 8);

  // Spaces around the key and value are allowed.
  CHECK(applied(" training.steps = 9 ").at_path("training.steps").value<std::int64_t>() == 9);
}

TEST_CASE("overrides index arrays of tables", "[manifest][overrides]") {
  const toml::table table = applied("loss[1].weight=0.5");
  CHECK(table.at_path("loss[1].weight").value<double>() == 0.5);
  CHECK_FALSE(table.at_path("loss[0].weight"));
  const toml::node* weight = table.at_path("loss[1].weight").node();
  CHECK(weight->source().begin.column == 16);
  CHECK(applied("loss[0].sub.k=1").at_path("loss[0].sub.k").value<std::int64_t>() == 1);
}

TEST_CASE("malformed overrides", "[manifest][overrides]") {
  Diagnostic d = failure("training.steps");
  CHECK(d.file == "--set training.steps");
  CHECK(d.line == 1);
  CHECK(d.column == 1);
  CHECK(d.message == "malformed override: expected KEY=VALUE");

  d = failure("=5");
  CHECK(d.message == "malformed override: empty key before '='");

  d = failure("training..steps=5");
  CHECK(d.message == "malformed override: empty key segment in 'training..steps'");
  CHECK(d.column == 10);
  CHECK(d.key == "training..steps");

  d = failure("training.st eps=5");
  CHECK(d.message == "malformed override: invalid key segment 'st eps'");
  CHECK(d.column == 10);

  d = failure("a.\"b\"=5");
  CHECK(d.message == "malformed override: invalid key segment '\"b\"'");

  d = failure("loss[x].weight=1");
  CHECK(d.message == "malformed override: invalid key segment 'loss[x]'");

  d = failure("training.steps=");
  CHECK(d.message == "malformed override: missing value after '='");
  CHECK(d.column == 16);

  d = failure("run.name=hello world");
  CHECK(d.file == "--set run.name=hello world");
  CHECK(d.key == "run.name");
  CHECK(d.line == 1);
  CHECK(d.column == 10);
  CHECK(d.message ==
        "invalid override value: Error while parsing value: could not determine value type");

  d = failure("run.name=\"open");
  CHECK_THAT(d.message, Catch::StartsWith("invalid override value: "));

  d = failure("run.name=1\nother=2");
  CHECK(d.message == "malformed override: the value must be a single TOML value");
}

TEST_CASE("conflicting overrides", "[manifest][overrides]") {
  Diagnostic d = failure("training=5");
  CHECK(d.message == "cannot replace table [training] with integer 5");
  CHECK(d.column == 10);
  CHECK(d.hint == "set one of its keys instead, e.g. --set training.KEY=VALUE");

  d = failure("training.steps.x=1");
  CHECK(d.key == "training.steps.x");
  CHECK(d.message == "cannot set 'training.steps.x': 'training.steps' is integer 100, not a table");
  CHECK(d.column == 10);

  d = failure("loss.weight=1");
  CHECK(d.message == "cannot set 'loss.weight': 'loss' is an array of tables, not a table");
  CHECK(d.hint == "index it, e.g. --set loss[0].weight=...");

  d = failure("loss[2].weight=1");
  CHECK(d.message == "index 2 is out of range: 'loss' has 2 elements");
  CHECK(d.column == 1);

  d = failure("run[0].name=1");
  CHECK(d.message == "cannot index 'run': it is a table, not an array");

  d = failure("nope[0].x=1");
  CHECK(d.message == "cannot set 'nope[0].x': 'nope' is not set");

  d = failure("loss[0]=1");
  CHECK(d.message == "cannot set an element of an array of tables itself");
}

TEST_CASE("Manifest::load applies overrides in order and reports all bad ones",
          "[manifest][overrides]") {
  const Manifest manifest = Manifest::parse("[training]\nsteps = 1\n", "m.toml",
                                            {{"training.steps=2"}, {"training.steps=3"}});
  CHECK(manifest.root().at_path("training.steps").value<std::int64_t>() == 3);

  try {
    Manifest::parse("[training]\nsteps = 1\n", "m.toml", {{"a"}, {"training=1"}, {"b=ok"}});
    FAIL("expected a ConfigError");
  } catch (const anvil::ConfigError& error) {
    REQUIRE(error.diagnostics().size() == 2);
    CHECK(error.diagnostics()[0].file == "--set a");
    CHECK(error.diagnostics()[1].file == "--set training=1");
  }
}
