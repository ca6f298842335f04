// plugin_search_path: manifest paths, then $ANVIL_PLUGIN_PATH, then the install's plugin
// folder; canonical, existing and unique.
#include "plugin/plugin_host.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using anvil::core::installed_plugin_dir;
using anvil::core::plugin_search_path;

namespace {

// Sets $ANVIL_PLUGIN_PATH for one test and restores it afterwards.
class PluginPathVariable {
 public:
  explicit PluginPathVariable(const std::optional<std::string>& value) {
    if (const char* old = std::getenv("ANVIL_PLUGIN_PATH")) saved_ = old;
    if (value)
      ::setenv("ANVIL_PLUGIN_PATH", value->c_str(), 1);
    else
      ::unsetenv("ANVIL_PLUGIN_PATH");
  }
  ~PluginPathVariable() {
    if (saved_)
      ::setenv("ANVIL_PLUGIN_PATH", saved_->c_str(), 1);
    else
      ::unsetenv("ANVIL_PLUGIN_PATH");
  }

 private:
  std::optional<std::string> saved_;
};

// A fresh folder with sub-folders a, b, c and a file lib.so, removed at the end.
struct TempTree {
  TempTree()
      : root(fs::temp_directory_path() / ("anvil-search-path-" + std::to_string(::getpid()))) {
    for (const char* name : {"a", "b", "c"}) fs::create_directories(root / name);
    std::ofstream(root / "lib.so") << "not a library";
    root = fs::canonical(root);
  }
  ~TempTree() { fs::remove_all(root); }
  fs::path root;
};

// The install folder ends the search path when it exists (it does once the built-in plugins
// are built).
std::vector<fs::path> with_installed(std::vector<fs::path> expected) {
  std::error_code error;
  const fs::path installed = fs::canonical(installed_plugin_dir(), error);
  if (!error) expected.push_back(installed);
  return expected;
}

}  // namespace

TEST_CASE("the install's plugin folder is found from the executable", "[plugin][loader]") {
  CHECK(installed_plugin_dir() == fs::path(ANVIL_BUILTIN_PLUGIN_DIR).lexically_normal());
}

TEST_CASE("manifest paths come first, then $ANVIL_PLUGIN_PATH, then the install",
          "[plugin][loader]") {
  TempTree tree;
  const fs::path a = tree.root / "a", b = tree.root / "b", c = tree.root / "c";
  const fs::path library = tree.root / "lib.so";

  SECTION("in priority order, without missing folders, duplicates or empty entries") {
    PluginPathVariable variable(a.string() + "::" + b.string() + ":" +
                                (tree.root / "missing").string() + ":" + library.string() + ":" +
                                a.string() + ":");
    CHECK(plugin_search_path({c, tree.root / "missing", tree.root / "c" / ".." / "a"}) ==
          with_installed({c, a, b, library}));
  }
  SECTION("without the variable") {
    PluginPathVariable variable(std::nullopt);
    CHECK(plugin_search_path({b}) == with_installed({b}));
  }
  SECTION("with an empty variable") {
    PluginPathVariable variable{std::string()};
    CHECK(plugin_search_path({}) == with_installed({}));
  }
}
