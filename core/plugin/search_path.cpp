#include "plugin/plugin_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace anvil::core {

namespace fs = std::filesystem;

namespace {

// The entries of a ':'-separated list such as $ANVIL_PLUGIN_PATH; empty entries ("a::b", a
// trailing ':') mean nothing and are dropped.
std::vector<fs::path> split_path_list(std::string_view list) {
  std::vector<fs::path> entries;
  while (!list.empty()) {
    const auto colon = list.find(':');
    const std::string_view entry = list.substr(0, colon);
    if (!entry.empty()) entries.emplace_back(entry);
    if (colon == std::string_view::npos) break;
    list.remove_prefix(colon + 1);
  }
  return entries;
}

}  // namespace

fs::path installed_plugin_dir() {
  // /proc/self/exe rather than argv[0]: it is right however anvil was started (PATH, symlink).
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (error) return {};
  return (executable.parent_path() / ".." / ANVIL_PLUGIN_RELATIVE_DIR).lexically_normal();
}

std::vector<fs::path> plugin_search_path(const std::vector<fs::path>& manifest_paths) {
  std::vector<fs::path> candidates = manifest_paths;
  if (const char* environment = std::getenv("ANVIL_PLUGIN_PATH")) {
    const std::vector<fs::path> from_environment = split_path_list(environment);
    candidates.insert(candidates.end(), from_environment.begin(), from_environment.end());
  }
  const std::size_t given = candidates.size();  // entries a user wrote, before the install folder
  candidates.push_back(installed_plugin_dir());

  std::vector<fs::path> search_path;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const fs::path& candidate = candidates[i];
    if (candidate.empty()) continue;
    std::error_code error;
    const fs::path resolved = fs::canonical(candidate, error);  // fails for missing paths
    if (error) {
      // A typo in --plugin-path, [plugins] paths or $ANVIL_PLUGIN_PATH should not go unnoticed.
      if (i < given) spdlog::warn("plugin path '{}' does not exist; skipped", candidate.string());
      continue;
    }
    if (std::find(search_path.begin(), search_path.end(), resolved) == search_path.end())
      search_path.push_back(resolved);
  }
  return search_path;
}

}  // namespace anvil::core
