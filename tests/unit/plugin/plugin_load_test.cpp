// PluginHost::load against each fixture library: the exact message and hint of every
// rejection, that a rejected library registers nothing, and that loading twice is a no-op.
#include "fixture_support.h"
#include "plugin/host_info.h"
#include "plugin/plugin_host.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using anvil::ComponentKind;
using anvil::PluginError;
using anvil::core::host_info;
using anvil::core::LibraryRecord;
using anvil::core::PluginHost;
using anvil::test::fixture;
using anvil::test::fixture_dir;
using anvil::test::load_error;
using anvil::test::quoted;

namespace {

const std::string kEntryPointsHint =
    "define the plugin's entry points with ANVIL_PLUGIN(...) from <anvil/plugin.h> and build it "
    "with anvil_add_plugin()";
const std::string kPluginBugHint =
    "report this to the plugin's author, or remove the library from the plugin search path";

std::string rebuild_against_sdk_hint() {
  return "rebuild the plugin against Anvil SDK " + host_info().sdk_version +
         " (see `anvil --version`): find_package(Anvil) with CMAKE_PREFIX_PATH pointing at this "
         "anvil's install prefix";
}

std::string version(std::uint32_t major, std::uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

TEST_CASE("a missing file is rejected as missing", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture_dir() / "no-such-plugin.so";
  const PluginError error = load_error(host, path);
  CHECK(std::string(error.what()) == "plugin " + quoted(path) + " does not exist");
  CHECK(error.hint() ==
        "check the plugin paths in the manifest's [plugins] table and in $ANVIL_PLUGIN_PATH");
  CHECK(error.plugin() == path.string());
}

TEST_CASE("a folder is not a plugin library", "[plugin][loader]") {
  PluginHost host;
  const PluginError error = load_error(host, fixture_dir());
  CHECK(std::string(error.what()) == "plugin " + quoted(fixture_dir()) + " is not a regular file");
}

TEST_CASE("a file that is not a shared library is rejected with the loader's reason",
          "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-not-a-library");
  const PluginError error = load_error(host, path);
  const std::string prefix = "plugin " + quoted(path) + " is not a loadable shared library: ";
  CHECK_THAT(error.what(), Catch::Matchers::StartsWith(prefix));
  // The dynamic loader's own words follow, without repeating the path.
  CHECK(std::string(error.what()).size() > prefix.size());
  CHECK_THAT(error.what(), !Catch::Matchers::Contains(path.string() + ": "));
  CHECK_THAT(error.hint(), Catch::Matchers::Contains("ldd " + path.string()));
}

TEST_CASE("a library without the info entry point is not an Anvil plugin", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-no-info");
  const PluginError error = load_error(host, path);
  CHECK(std::string(error.what()) ==
        "plugin " + quoted(path) + " does not export anvil_plugin_info_v1, so it is not an "
                                   "Anvil plugin");
  CHECK(error.hint() == kEntryPointsHint);
}

TEST_CASE("a plugin built for another SDK ABI is rejected", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-wrong-abi");
  const PluginError error = load_error(host, path);
  CHECK(std::string(error.what()) ==
        "plugin " + quoted(path) + " was built for plugin ABI version 999, but this anvil uses "
                                   "plugin ABI version " +
            std::to_string(host_info().abi_version));
  CHECK(error.hint() == rebuild_against_sdk_hint());
}

TEST_CASE("a plugin built against another SDK major version is rejected", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-wrong-sdk");
  const PluginError error = load_error(host, path);
  const auto& h = host_info();
  CHECK(std::string(error.what()) == "plugin " + quoted(path) + " was built against Anvil SDK " +
                                         version(h.sdk_major + 1, h.sdk_minor) +
                                         ", but this anvil provides Anvil SDK " +
                                         version(h.sdk_major, h.sdk_minor));
  CHECK(error.hint() == rebuild_against_sdk_hint());
}

TEST_CASE("a plugin built against another LibTorch is rejected", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-wrong-torch");
  const PluginError error = load_error(host, path);
  const auto& h = host_info();
  const std::string host_torch = version(h.torch_major, h.torch_minor);
  CHECK(std::string(error.what()) == "plugin " + quoted(path) + " was built against LibTorch " +
                                         version(h.torch_major, h.torch_minor + 1) +
                                         ", but this anvil uses LibTorch " + host_torch);
  CHECK(error.hint() == "rebuild the plugin against LibTorch " + host_torch +
                            " (see `anvil --version`): find_package(Anvil) with CMAKE_PREFIX_PATH "
                            "pointing at the same LibTorch");

  SECTION("the rejected library is still named from its info record") {
    REQUIRE(host.libraries().size() == 1);
    const LibraryRecord& record = host.libraries().front();
    CHECK(record.status == LibraryRecord::Status::rejected);
    CHECK(record.path == path);
    CHECK(record.name == "fixture-wrong-torch");
    CHECK(record.version == "1.0.0");
    CHECK(record.reason == error.what());
    CHECK(record.hint == error.hint());
    CHECK(record.components.empty());
  }
}

TEST_CASE("a library without the register entry point is rejected", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-no-register");
  const PluginError error = load_error(host, path);
  CHECK(std::string(error.what()) ==
        "plugin " + quoted(path) + " does not export anvil_plugin_register");
  CHECK(error.hint() == kEntryPointsHint);
}

TEST_CASE("a register function that throws registers nothing", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-throws");
  const PluginError error = load_error(host, path);
  CHECK(std::string(error.what()) == "plugin 'fixture-throws' (" + path.string() +
                                         ") failed while registering its components: boom");
  CHECK(error.hint() == kPluginBugHint);
  CHECK(error.plugin() == path.string());
  CHECK(host.names(ComponentKind::loss).empty());
  CHECK(host.components().empty());
  REQUIRE(host.libraries().size() == 1);
  CHECK(host.libraries().front().status == LibraryRecord::Status::rejected);
}

TEST_CASE("a rejected library stays rejected with the same error", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-wrong-abi");
  const PluginError first = load_error(host, path);
  const PluginError second = load_error(host, path);
  CHECK(std::string(second.what()) == first.what());
  CHECK(second.hint() == first.hint());
  CHECK(host.libraries().size() == 1);
}

TEST_CASE("the good plugin loads and describes itself", "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-good");
  REQUIRE_NOTHROW(host.load(path));

  REQUIRE(host.libraries().size() == 1);
  const LibraryRecord& record = host.libraries().front();
  CHECK(record.status == LibraryRecord::Status::loaded);
  CHECK(record.path == path);
  CHECK(record.reason.empty());
  CHECK(record.name == "fixture-good");
  CHECK(record.version == "1.2.3");
  CHECK(record.description == "Loader test fixture: a loss and an offload");
  CHECK(record.license == "MIT");
  CHECK(record.compiler == host_info().compiler);
  CHECK(record.components ==
        std::vector<std::string>{"loss/fixture-square", "offload/fixture-map"});

  const auto* loss = host.find(ComponentKind::loss, "fixture-square");
  REQUIRE(loss != nullptr);
  CHECK(loss->library_path == path);
  CHECK(loss->plugin_name == "fixture-good");
  CHECK(loss->plugin_version == "1.2.3");
  CHECK(loss->spec.description == "scale * mean(logits^2)");
  CHECK(host.find(ComponentKind::offload, "fixture-square") == nullptr);

  const anvil::ComponentSpec* spec = host.find_spec(ComponentKind::loss, "fixture-square");
  REQUIRE(spec != nullptr);
  REQUIRE(spec->options.find("metric") != nullptr);
  CHECK(spec->options.find("metric")->is_required());
  REQUIRE(spec->options.find("scale") != nullptr);
  CHECK(spec->options.find("scale")->upper() == 100.0);
  CHECK(host.find_spec(ComponentKind::loss, "nope") == nullptr);
}

TEST_CASE("loading the same file twice is a no-op", "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-good"));
  REQUIRE_NOTHROW(host.load(fixture("fixture-good")));
  // Another spelling of the same file is the same library.
  REQUIRE_NOTHROW(host.load(fixture_dir() / "." / "fixture-good.so"));
  CHECK(host.libraries().size() == 1);
  CHECK(host.components().size() == 2);
}

TEST_CASE("a component name registered twice names both libraries", "[plugin][loader]") {
  PluginHost host;
  const auto good = fixture("fixture-good");
  const auto duplicate = fixture("fixture-duplicate");
  host.load(good);
  const PluginError error = load_error(host, duplicate);
  CHECK(std::string(error.what()) == "loss 'fixture-square' is registered by both " +
                                         quoted(good) + " and " + quoted(duplicate));
  CHECK(error.hint() == "remove one of the two libraries from the plugin search path (the "
                        "manifest's [plugins] paths, $ANVIL_PLUGIN_PATH)");
  CHECK(error.plugin() == duplicate.string());
  // The first registration stands.
  CHECK(host.find(ComponentKind::loss, "fixture-square")->library_path == good);
  CHECK(host.components().size() == 2);
}

TEST_CASE("a footprint for an architecture the library does not register is refused",
          "[plugin][loader]") {
  PluginHost host;
  const auto path = fixture("fixture-orphan-footprint");
  const PluginError error = load_error(host, path);
  CHECK(std::string(error.what()) ==
        "plugin 'fixture-orphan-footprint' (" + path.string() +
            ") registered a footprint for architecture 'fixture-absent', which it does not "
            "register (or registers without a factory)");
  CHECK(host.components().empty());
}

TEST_CASE("components are listed by kind, then name", "[plugin][loader]") {
  PluginHost host;
  host.load(fixture("fixture-good"));
  host.load(fixture("fixture-factory-throws"));
  std::vector<std::string> listed;
  for (const auto* entry : host.components())
    listed.push_back(std::string(anvil::to_string(entry->spec.kind)) + "/" + entry->spec.name);
  // Kinds in their documented order: offload comes before loss.
  CHECK(listed == std::vector<std::string>{"offload/fixture-map", "loss/fixture-broken",
                                           "loss/fixture-misconfigured", "loss/fixture-null",
                                           "loss/fixture-square"});
  CHECK(host.names(ComponentKind::loss) ==
        std::vector<std::string>{"fixture-broken", "fixture-misconfigured", "fixture-null",
                                 "fixture-square"});
  CHECK(host.names(ComponentKind::tokenizer).empty());
}
