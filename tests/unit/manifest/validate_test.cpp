// validate_manifest: defaults, component sections, integer-to-float storage, and that every
// problem of a manifest is reported in one ConfigError.

#include "manifest/validate.h"
#include "test_support.h"

#include <catch2/catch.hpp>

#include <algorithm>

using anvil::ComponentKind;
using anvil::ConfigError;
using anvil::Diagnostic;
using anvil::core::ComponentSection;
using anvil::core::Manifest;
using anvil::core::validate_manifest;

namespace {

const char* kMinimal =
    "[tokenizer]\nplugin = \"char\"\n[model]\nplugin = \"bigram\"\nvocab_size = 65\n"
    "[optimizer]\nplugin = \"sgd\"\n";

std::vector<Diagnostic> problems(
    const std::string& text,
    const anvil::core::ComponentCatalog& catalog = anvil::test::test_catalog()) {
  Manifest manifest = Manifest::parse(text, "m.toml");
  try {
    validate_manifest(manifest, catalog);
  } catch (const ConfigError& error) {
    return error.diagnostics();
  }
  return {};
}

}  // namespace

TEST_CASE("validation fills in core and plugin defaults", "[manifest][validate]") {
  Manifest manifest = Manifest::parse(kMinimal, "m.toml");
  const std::vector<ComponentSection> sections =
      validate_manifest(manifest, anvil::test::test_catalog());
  const toml::table& root = manifest.root();

  CHECK(root.at_path("run.name").value<std::string>() == "run");
  CHECK(root.at_path("run.seed").value<std::int64_t>() == 1234);
  CHECK(root.at_path("run.device").value<std::string>() == "auto");
  CHECK(root.at_path("plugins.paths").as_array()->empty());
  CHECK(root.at_path("training.steps").value<std::int64_t>() == 1000);
  CHECK(root.at_path("training.schedule").value<std::string>() == "cosine");
  CHECK(root.at_path("training.min_lr_ratio").value_exact<double>() == 0.1);
  CHECK(root.at_path("training.precision").value<std::string>() == "auto");
  CHECK(root.at_path("training.deterministic").value<bool>() == false);
  CHECK(root.at_path("data.text_field").value<std::string>() == "text");
  CHECK(root.at_path("model.n_embd").value<std::int64_t>() == 32);
  CHECK(root.at_path("optimizer.lr").value_exact<double>() == 0.01);

  // Absent optional components get their default plugin.
  CHECK(root.at_path("offload.plugin").value<std::string>() == "none");
  CHECK(root.at_path("loss.plugin").value<std::string>() == "cross-entropy");
  CHECK(root.at_path("loss.weight").value_exact<double>() == 1.0);
  CHECK(root.at_path("loss.label_smoothing").value_exact<double>() == 0.0);
  CHECK_FALSE(root.contains("eval"));

  REQUIRE(sections.size() == 5);
  CHECK(sections[0].kind == ComponentKind::tokenizer);
  CHECK(sections[0].key_path == "tokenizer");
  CHECK(sections[0].plugin == "char");
  CHECK(sections[1].kind == ComponentKind::architecture);
  CHECK(sections[1].key_path == "model");
  CHECK(sections[2].plugin == "sgd");
  CHECK(sections[3].kind == ComponentKind::offload);
  CHECK(sections[4].kind == ComponentKind::loss);
  CHECK(sections[1].table == root.get("model"));
  CHECK(sections[1].table->get("vocab_size")->value<std::int64_t>() == 65);
}

TEST_CASE("arrays of component tables are validated one by one", "[manifest][validate]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  Manifest manifest = Manifest::load("valid/full.toml");
  const std::vector<ComponentSection> sections =
      validate_manifest(manifest, anvil::test::test_catalog());
  std::vector<std::string> paths;
  for (const ComponentSection& section : sections) paths.push_back(section.key_path);
  CHECK(paths == std::vector<std::string>{"tokenizer", "model", "optimizer", "offload", "loss[0]",
                                          "loss[1]", "eval[0]", "eval[1]"});
  CHECK(sections[4].table->get("weight")->value_exact<double>() == 1.0);
  CHECK(sections[7].plugin == "accuracy");
}

TEST_CASE("integers given for floats are stored as floats at the same position",
          "[manifest][validate]") {
  anvil::test::ScopedCwd cwd(anvil::test::fixture_dir());
  Manifest manifest = Manifest::load("valid/full.toml");
  validate_manifest(manifest, anvil::test::test_catalog());

  const toml::node* ratio = manifest.root().at_path("training.min_lr_ratio").node();
  REQUIRE(ratio);
  CHECK(ratio->is_floating_point());
  CHECK(ratio->value_exact<double>() == 0.0);
  REQUIRE(ratio->source().path);
  CHECK(*ratio->source().path == "valid/full.toml");
  CHECK(ratio->source().begin.line == 20);
  CHECK(ratio->source().begin.column == 16);

  const toml::node* weight = manifest.root().at_path("loss[1].weight").node();
  REQUIRE(weight);
  CHECK(weight->value_exact<double>() == 2.0);
  CHECK(weight->source().begin.line == 58);
  CHECK(weight->source().begin.column == 10);

  // Float arrays: each integer element converted in place.
  Manifest betas = Manifest::parse(
      "[tokenizer]\nplugin = \"char\"\n[model]\nplugin = \"bigram\"\nvocab_size = 65\n"
      "[optimizer]\nplugin = \"adamw\"\nbetas = [0, 1]\n",
      "m.toml");
  validate_manifest(betas, anvil::test::test_catalog());
  const toml::array* values = betas.root().at_path("optimizer.betas").as_array();
  REQUIRE(values);
  CHECK(values->get(1)->value_exact<double>() == 1.0);
  CHECK(values->get(1)->source().begin.line == 8);
  CHECK(values->get(1)->source().begin.column == 13);
  CHECK(*values->get(1)->source().path == "m.toml");
}

TEST_CASE("every problem of the manifest is reported at once, in source order",
          "[manifest][validate]") {
  const auto found = problems(
      "[training]\nsteps = 0\nschedule = \"cosin\"\n[model]\nplugin = \"bigram\"\n"
      "[optimizer]\nplugin = \"sgdd\"\n[extra]\n");
  REQUIRE(found.size() == 6);
  CHECK(found[0].key == "tokenizer");  // no position: first
  CHECK(found[0].line == 0);
  CHECK(found[0].message == "missing required section [tokenizer]");
  CHECK(found[1].key == "training.steps");
  CHECK(found[1].message == "must be >= 1 (got 0)");
  CHECK(found[2].message ==
        "must be one of \"constant\", \"linear\", \"cosine\", \"wsd\" (got \"cosin\")");
  CHECK(found[2].hint == "did you mean 'cosine'?");
  CHECK(found[3].key == "model.vocab_size");
  CHECK(found[3].line == 4);
  CHECK(found[4].message == "unknown optimizer plugin 'sgdd'");
  CHECK(found[4].hint == "did you mean 'sgd'? available: adamw, sgd");
  CHECK(found[5].message == "unknown section [extra]");
  CHECK(found[5].line == 8);
}

TEST_CASE("a value where a section belongs is an error, not a crash", "[manifest][validate]") {
  const auto found = problems("training = 5\neval = [1]\n" + std::string(kMinimal));
  REQUIRE(found.size() == 2);
  CHECK(found[0].key == "training");
  CHECK(found[0].message == "expected table, got integer 5");
  CHECK(found[1].key == "eval[0]");
  CHECK(found[1].message == "expected table, got integer 1");

  const auto optimizer = problems(
      "optimizer = [{ plugin = \"sgd\" }]\n[tokenizer]\nplugin = \"char\"\n[model]\n"
      "plugin = \"bigram\"\nvocab_size = 1\n");
  REQUIRE(optimizer.size() == 1);
  CHECK(optimizer[0].hint == "there is one [optimizer] section; [[optimizer]] is not allowed");
}

TEST_CASE("plugin keys", "[manifest][validate]") {
  auto found = problems(
      "[tokenizer]\nplugin = 3\n[model]\nplugin = \"bigram\"\nvocab_size = 65\n[optimizer]\nlr = "
      "1\n");
  REQUIRE(found.size() == 2);
  CHECK(found[0].key == "tokenizer.plugin");
  CHECK(found[0].message == "expected string, got integer 3");
  CHECK(found[1].key == "optimizer.plugin");
  CHECK(found[1].message == "missing required key 'plugin'");
  CHECK(found[1].hint == "set plugin = \"<name>\"; available: adamw, sgd");
  CHECK(found[1].line == 6);

  const anvil::test::TestCatalog empty;
  found = problems(kMinimal, empty);
  REQUIRE(found.size() == 5);
  // Defaulted sections have no position of their own: reported on the main file, first.
  CHECK(found[0].key == "offload.plugin");
  CHECK(found[0].file == "m.toml");
  CHECK(found[0].line == 0);
  CHECK(found[0].message == "unknown offload plugin 'none' (the default when [offload] is absent)");
  CHECK(found[1].key == "loss.plugin");
  CHECK(found[2].message == "unknown tokenizer plugin 'char'");
  CHECK(found[2].hint ==
        "no tokenizer plugins are loaded; check [plugins] paths and ANVIL_PLUGIN_PATH");
}

TEST_CASE("run.device accepts auto, cpu, cuda and cuda:N", "[manifest][validate]") {
  for (const char* device : {"auto", "cpu", "cuda", "cuda:0", "cuda:15"}) {
    INFO(device);
    CHECK(problems(std::string(kMinimal) + "[run]\ndevice = \"" + device + "\"\n").empty());
  }
  for (const char* device : {"gpu", "cuda:", "cuda:x", "CPU", "cuda:0:1"}) {
    INFO(device);
    const auto found = problems(std::string(kMinimal) + "[run]\ndevice = \"" + device + "\"\n");
    REQUIRE(found.size() == 1);
    CHECK(found[0].key == "run.device");
    CHECK(found[0].message == std::string("invalid device \"") + device + "\"");
  }
}

TEST_CASE("loss terms have a host-owned weight", "[manifest][validate]") {
  const auto found = problems(std::string(kMinimal) +
                              "[[loss]]\nplugin = \"cross-entropy\"\nweight = \"x\"\nwieght = 1\n");
  REQUIRE(found.size() == 2);
  CHECK(found[0].key == "loss[0].weight");
  CHECK(found[0].message == "expected float, got string \"x\"");
  CHECK(found[1].message == "unknown key 'wieght' in [loss[0]]");
  CHECK(found[1].hint == "did you mean 'weight'?");
}

TEST_CASE("the core schemas are documented", "[manifest][validate]") {
  for (const auto& [name, schema] : anvil::core::core_sections()) {
    INFO(name);
    CHECK_FALSE(schema.specs().empty());
    for (const anvil::OptionSpec& spec : schema.specs()) {
      INFO(spec.key());
      CHECK(spec.doc().size() > 10);
      if (spec.type() != anvil::OptionType::table) {
        CHECK(spec.default_value() != nullptr);
        continue;
      }
      // A sub-table ([data.clean]) is a core section of its own, which fills its defaults.
      const auto& sections = anvil::core::core_sections();
      CHECK(std::any_of(sections.begin(), sections.end(), [&](const auto& section) {
        return section.first == name + "." + spec.key();
      }));
    }
  }
  CHECK(anvil::core::component_sections().size() == 6);
}

TEST_CASE("sub-tables of core sections are validated and filled in", "[manifest][validate]") {
  Manifest manifest = Manifest::parse(kMinimal, "m.toml");
  validate_manifest(manifest, anvil::test::test_catalog());
  CHECK(manifest.root().at_path("data.clean.normalize").value<std::string>() == "nfc");
  CHECK(manifest.root().at_path("data.dedup.bands").value<std::int64_t>() == 16);

  const auto typo = problems(std::string(kMinimal) + "[data.dedup]\nthreshhold = 0.5\n");
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].key == "data.dedup.threshhold");
  CHECK(typo[0].hint == "did you mean 'threshold'?");
  CHECK(typo[0].line == 9);

  // Reported once, by [data]'s schema, not again as a missing section.
  const auto not_table = problems(std::string(kMinimal) + "[data]\nclean = 3\n");
  REQUIRE(not_table.size() == 1);
  CHECK(not_table[0].key == "data.clean");
  CHECK(not_table[0].message == "expected table, got integer 3");
}
