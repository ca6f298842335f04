// The host's build facts, and check_plugin_info on records that differ in one field each
// (the fixtures cover the same checks through real libraries for ABI, SDK and LibTorch).
#include "plugin/host_info.h"
#include "plugin/plugin_library.h"

#include <anvil/plugin.h>

#include <catch2/catch.hpp>

#include <string>

using anvil::PluginError;
using anvil::core::check_plugin_info;
using anvil::core::host_info;

namespace {

const std::filesystem::path kPath = "/plugins/x.so";

anvil_plugin_info matching_record() {
  anvil_plugin_info record = ANVIL_PLUGIN_INFO_INIT("x", "1.0.0", "test record", "MIT");
  return record;
}

std::string check_message(const anvil_plugin_info& record) {
  try {
    check_plugin_info(kPath, record, host_info());
  } catch (const PluginError& error) {
    CHECK(error.plugin() == kPath.string());
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("host_info reports the versions this binary was built with", "[plugin][loader]") {
  const auto& host = host_info();
  CHECK(host.abi_version == ANVIL_PLUGIN_ABI_VERSION);
  CHECK(host.sdk_major == ANVIL_VERSION_MAJOR);
  CHECK(host.sdk_minor == ANVIL_VERSION_MINOR);
  CHECK(host.sdk_version == ANVIL_VERSION_STRING);
  CHECK(host.torch_major == TORCH_VERSION_MAJOR);
  CHECK(host.torch_minor == TORCH_VERSION_MINOR);
  CHECK(host.torch_version == TORCH_VERSION);
  CHECK(host.cxx11_abi == ANVIL_DETAIL_CXX11_ABI);
  CHECK(host.toml_major == TOML_LIB_MAJOR);
  CHECK(host.toml_exceptions == TOML_EXCEPTIONS);
  CHECK(host.toml_version == std::to_string(TOML_LIB_MAJOR) + "." +
                                 std::to_string(TOML_LIB_MINOR) + "." +
                                 std::to_string(TOML_LIB_PATCH));
  CHECK(host.compiler == ANVIL_DETAIL_COMPILER);
}

TEST_CASE("a record built with the host's headers passes", "[plugin][loader]") {
  CHECK_NOTHROW(check_plugin_info(kPath, matching_record(), host_info()));
  anvil_plugin_info older_minor = matching_record();
  older_minor.sdk_minor = ANVIL_VERSION_OLDEST_MINOR;  // an older minor, down to the oldest: accepted
  CHECK_NOTHROW(check_plugin_info(kPath, older_minor, host_info()));
}

TEST_CASE("each field of the record is checked", "[plugin][loader]") {
  const auto& h = host_info();
  const std::string plugin = "plugin '/plugins/x.so' ";
  anvil_plugin_info record = matching_record();

  SECTION("struct size") {
    record.struct_size = 8;
    CHECK(check_message(record) == plugin + "has an info record of 8 bytes, but this anvil "
                                            "needs at least " +
                                       std::to_string(sizeof(anvil_plugin_info)));
  }
  SECTION("SDK minor newer than the host's") {
    record.sdk_minor = h.sdk_minor + 1;
    CHECK(check_message(record) ==
          plugin + "was built against Anvil SDK " + std::to_string(h.sdk_major) + "." +
              std::to_string(h.sdk_minor + 1) + ", which is newer than this anvil's Anvil SDK " +
              std::to_string(h.sdk_major) + "." + std::to_string(h.sdk_minor));
  }
  SECTION("SDK minor older than the oldest the host loads") {
    record.sdk_minor = h.oldest_sdk_minor - 1;
    CHECK(h.oldest_sdk_minor == 6);
    CHECK(check_message(record) ==
          plugin + "was built against Anvil SDK 0.5, older than the oldest this anvil loads (0.6: "
                   "the model layers moved from libanvil_sdk to libanvil_nn)");
  }
  SECTION("LibTorch major") {
    record.torch_major = 2;
    record.torch_minor = 1;
    CHECK(check_message(record) == plugin + "was built against LibTorch 2.1, but this anvil uses "
                                            "LibTorch " +
                                       std::to_string(h.torch_major) + "." +
                                       std::to_string(h.torch_minor));
  }
  SECTION("C++ standard library ABI") {
    record.cxx11_abi = h.cxx11_abi ? 0 : 1;
    CHECK(check_message(record) == plugin + "was built with _GLIBCXX_USE_CXX11_ABI=" +
                                       std::to_string(record.cxx11_abi) +
                                       ", but this anvil uses _GLIBCXX_USE_CXX11_ABI=" +
                                       std::to_string(h.cxx11_abi));
  }
  const std::string host_exceptions = h.toml_exceptions ? "on" : "off";
  SECTION("toml++ major") {
    record.toml_major = h.toml_major + 1;
    CHECK(check_message(record) ==
          plugin + "was built against toml++ " + std::to_string(h.toml_major + 1) +
              " with exceptions " + host_exceptions + ", but this anvil uses toml++ " +
              std::to_string(h.toml_major) + " with exceptions " + host_exceptions);
  }
  SECTION("toml++ exceptions mode") {
    record.toml_exceptions = h.toml_exceptions ? 0 : 1;
    CHECK(check_message(record) ==
          plugin + "was built against toml++ " + std::to_string(h.toml_major) +
              " with exceptions " + (h.toml_exceptions ? "off" : "on") +
              ", but this anvil uses toml++ " + std::to_string(h.toml_major) +
              " with exceptions " + host_exceptions);
  }
  SECTION("the first failed check is the one reported") {
    record.abi_version = 7;
    record.torch_minor += 1;
    record.toml_major += 1;
    CHECK_THAT(check_message(record), Catch::Matchers::Contains("plugin ABI version 7"));
  }
}
