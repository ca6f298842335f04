#include "run/open_run.h"

#include "manifest/overrides.h"

namespace fs = std::filesystem;

namespace anvil::core {

std::vector<fs::path> manifest_plugin_paths(const Manifest& manifest) {
  std::vector<fs::path> paths;
  const toml::array* entries = manifest.root().at_path("plugins.paths").as_array();
  if (!entries) return paths;
  for (const toml::node& entry : *entries)
    if (entry.is_string()) paths.push_back(Manifest::resolve_path(entry));
  return paths;
}

namespace {
// --plugin-path entries, then the manifest's, then $ANVIL_PLUGIN_PATH and the installed folder.
std::vector<fs::path> run_search_path(const std::vector<std::string>& plugin_paths,
                                      const std::vector<fs::path>& manifest_paths) {
  std::vector<fs::path> first(plugin_paths.begin(), plugin_paths.end());
  first.insert(first.end(), manifest_paths.begin(), manifest_paths.end());
  return plugin_search_path(first);
}
}  // namespace

std::unique_ptr<PluginHost> discover_plugins(const std::vector<std::string>& plugin_paths,
                                             const std::vector<fs::path>& manifest_paths) {
  auto host = std::make_unique<PluginHost>();
  host->discover(run_search_path(plugin_paths, manifest_paths));
  return host;
}

std::unique_ptr<PluginHost> discover_plugins_for(const std::vector<std::string>& plugin_paths,
                                                 ComponentKind kind, const std::string& name) {
  const std::vector<fs::path> search_path = run_search_path(plugin_paths, {});
  auto host = std::make_unique<PluginHost>();
  host->discover_kind(search_path, kind);
  if (!host->find(kind, name)) host->discover(search_path);
  return host;
}

OpenRun open_run(const fs::path& manifest_path, const std::vector<std::string>& overrides,
                 const std::vector<std::string>& plugin_paths) {
  std::vector<Override> parsed;
  for (const std::string& text : overrides) parsed.push_back(Override{text});
  OpenRun run{Manifest::load(manifest_path, parsed), nullptr, {}};
  run.host = discover_plugins(plugin_paths, manifest_plugin_paths(run.manifest));
  run.sections = validate_manifest(run.manifest, *run.host);
  return run;
}

}  // namespace anvil::core
