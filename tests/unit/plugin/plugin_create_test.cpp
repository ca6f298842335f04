// PluginHost::create: the fixture components work on real tensors, factory failures become
// PluginError or ConfigError, and a component keeps its library loaded after the host is gone.
#include "fixture_support.h"
#include "plugin/plugin_host.h"

#include <anvil/loss.h>
#include <anvil/offload.h>
#include <anvil/options.h>

#include <ATen/ops/full.h>
#include <catch2/catch.hpp>
#include <toml++/toml.h>

#include <dlfcn.h>

#include <memory>
#include <string>

using anvil::ComponentKind;
using anvil::PluginError;
using anvil::core::PluginHost;
using anvil::test::fixture;

namespace {

// A component's table, validated against its declared schema as the manifest code would.
struct ValidatedOptions {
  ValidatedOptions(const PluginHost& host, ComponentKind kind, const std::string& name,
                   toml::table user_table)
      : table(std::move(user_table)), key_path(std::string(anvil::to_string(kind))) {
    const anvil::ComponentSpec* spec = host.find_spec(kind, name);
    REQUIRE(spec != nullptr);
    spec->options.validate(table, key_path, diagnostics, {"plugin"});
  }
  anvil::Options view() { return anvil::Options(table, key_path, diagnostics); }

  toml::table table;
  std::string key_path;
  anvil::Diagnostics diagnostics;
};

bool library_is_loaded(const std::filesystem::path& path) {
  // RTLD_NOLOAD finds an already-loaded library without loading it (and takes a reference).
  void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (handle) ::dlclose(handle);
  return handle != nullptr;
}

}  // namespace

TEST_CASE("the fixture loss computes scale * mean(logits^2)", "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-good"));
  ValidatedOptions options(host, ComponentKind::loss, "fixture-square",
                           toml::table{{"metric", "square"}, {"scale", 0.5}});
  REQUIRE(options.diagnostics.empty());

  auto loss = host.create<anvil::Loss>("fixture-square", options.view(), anvil::RunContext{});
  REQUIRE(loss != nullptr);
  anvil::ModelOutput output;
  output.logits = at::full({2, 3, 4}, 3.0);  // (B, T, V)
  const anvil::LossOutput result = loss->compute(output, anvil::Batch{});
  CHECK(result.loss.item<double>() == Approx(4.5));
  REQUIRE(result.metrics.size() == 1);
  CHECK(result.metrics[0].name == "square");
  CHECK(result.metrics[0].value == Approx(4.5));
}

TEST_CASE("the fixture schemas declare a required and a ranged option", "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-good"));
  SECTION("defaults are filled in") {
    ValidatedOptions options(host, ComponentKind::loss, "fixture-square",
                             toml::table{{"metric", "m"}});
    CHECK(options.diagnostics.empty());
    CHECK(options.table["scale"].value<double>() == 1.0);
  }
  SECTION("a missing required key and an out-of-range value are reported") {
    ValidatedOptions options(host, ComponentKind::loss, "fixture-square",
                             toml::table{{"scale", 1000.0}});
    CHECK(options.diagnostics.size() == 2);
  }
}

TEST_CASE("the fixture offload keeps tensors", "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-good"));
  ValidatedOptions options(host, ComponentKind::offload, "fixture-map",
                           toml::table{{"capacity", 2}});
  REQUIRE(options.diagnostics.empty());
  auto offload = host.create<anvil::Offload>("fixture-map", options.view(), anvil::RunContext{});

  const at::Tensor ones = at::full({4}, 1.0);
  offload->store("a", ones);
  offload->store("b", at::full({4}, 2.0));
  CHECK(offload->stored_bytes() == 2 * 4 * 4);  // two float32 tensors of 4 elements
  CHECK(offload->fetch("a", c10::Device(c10::kCPU)).equal(ones));
  CHECK_THROWS_AS(offload->store("c", ones), anvil::Error);  // capacity is 2
  offload->erase("a");
  CHECK_THROWS_WITH(offload->fetch("a", c10::Device(c10::kCPU)), "fixture-map has no tensor 'a'");
}

TEST_CASE("a factory that throws becomes a PluginError naming the component and its library",
          "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-factory-throws"));
  ValidatedOptions options(host, ComponentKind::loss, "fixture-broken", {});
  try {
    host.create<anvil::Loss>("fixture-broken", options.view(), anvil::RunContext{});
    FAIL("create did not throw");
  } catch (const PluginError& error) {
    CHECK(std::string(error.what()) == "loss 'fixture-broken' (from " +
                                           fixture("fixture-factory-throws").string() +
                                           ") failed: cannot open weights");
    CHECK(error.plugin() == "fixture-broken");
  }
}

TEST_CASE("a factory that returns nothing is a PluginError", "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-factory-throws"));
  ValidatedOptions options(host, ComponentKind::loss, "fixture-null", {});
  CHECK_THROWS_WITH(
      host.create<anvil::Loss>("fixture-null", options.view(), anvil::RunContext{}),
      "loss 'fixture-null' (from " + fixture("fixture-factory-throws").string() +
          ") failed: its factory returned no object");
}

TEST_CASE("problems a factory records are thrown as ConfigError", "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-factory-throws"));
  ValidatedOptions options(host, ComponentKind::loss, "fixture-misconfigured", {});
  REQUIRE(options.diagnostics.empty());
  try {
    host.create<anvil::Loss>("fixture-misconfigured", options.view(), anvil::RunContext{});
    FAIL("create did not throw");
  } catch (const anvil::ConfigError& error) {
    REQUIRE(error.diagnostics().size() == 1);
    CHECK(error.diagnostics()[0].message == "is never right for this fixture");
    CHECK(error.diagnostics()[0].hint == "there is no right value");
    CHECK_THAT(error.diagnostics()[0].key, Catch::Matchers::Contains("scale"));
  }
}

TEST_CASE("an unknown component name lists what is available", "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-good"));
  toml::table empty;
  anvil::Diagnostics diagnostics;
  const anvil::Options options(empty, "loss", diagnostics);

  try {
    host.create<anvil::Loss>("fixture-sqare", options, anvil::RunContext{});
    FAIL("create did not throw");
  } catch (const PluginError& error) {
    CHECK(std::string(error.what()) ==
          "no loss named 'fixture-sqare' is registered (did you mean 'fixture-square'?); "
          "available: fixture-square");
    CHECK_THAT(error.hint(), Catch::Matchers::Contains("$ANVIL_PLUGIN_PATH"));
  }
  CHECK_THROWS_WITH(
      host.create_component(ComponentKind::tokenizer, "char", options, anvil::RunContext{}),
      "no tokenizer named 'char' is registered; no loaded plugin provides a tokenizer");
}

TEST_CASE("a component keeps its library loaded after the host is gone", "[plugin][loader]") {
  const auto path = fixture("fixture-good");
  auto host = std::make_unique<PluginHost>();
  host->load(path);
  ValidatedOptions options(*host, ComponentKind::loss, "fixture-square",
                           toml::table{{"metric", "m"}, {"scale", 2.0}});
  std::shared_ptr<anvil::Loss> loss =
      host->create<anvil::Loss>("fixture-square", options.view(), anvil::RunContext{});

  host.reset();
  CHECK(library_is_loaded(path));
  anvil::ModelOutput output;
  output.logits = at::full({1, 1, 2}, 2.0);  // (B, T, V)
  CHECK(loss->compute(output, anvil::Batch{}).loss.item<double>() == Approx(8.0));
  loss.reset();  // runs the plugin's destructor while its code is still there
}
