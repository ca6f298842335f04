#pragma once
// Where the loader fixtures are, and how a test captures the PluginError a load throws.

#include "plugin/plugin_host.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

namespace anvil::test {

/// The build folder of tests/fixtures/plugins.
inline std::filesystem::path fixture_dir() {
  return std::filesystem::path(ANVIL_FIXTURE_PLUGIN_DIR).lexically_normal();
}

/// The library of fixture `name` ("fixture-good").
inline std::filesystem::path fixture(const std::string& name) {
  return fixture_dir() / (name + ".so");
}

/// `path` in single quotes, as messages write it.
inline std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

/// The PluginError host.load(library) throws; fails the test when it throws nothing.
inline PluginError load_error(core::PluginHost& host, const std::filesystem::path& library) {
  try {
    host.load(library);
  } catch (const PluginError& error) {
    return error;
  }
  FAIL("loading " << library.string() << " did not throw PluginError");
  return PluginError("", "");  // not reached: FAIL throws
}

}  // namespace anvil::test
