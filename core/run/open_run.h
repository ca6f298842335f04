#pragma once
// The one place a run is assembled from a manifest: loaded with its --set overrides, its plugins
// found and loaded, every section validated against its schema (defaults filled in). `check`,
// `data prepare`, `tokenizer train`, `train`, `generate` and `export` all start here, so they
// read the same manifest the same way; the typed configs are read from the result
// (read_train_config, plan_data). Torch-free: plugins that need LibTorch bring it themselves.

#include "manifest/manifest.h"
#include "manifest/validate.h"
#include "plugin/plugin_host.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace anvil::core {

/// A manifest made ready to run.
struct OpenRun {
  Manifest manifest;                     ///< with overrides applied and defaults filled in
  std::unique_ptr<PluginHost> host;      ///< the plugins of the search path below
  std::vector<ComponentSection> sections;  ///< the validated component sections, in order
};

/// Loads `manifest_path` with `overrides` (the `KEY=VALUE` texts of --set), loads the plugins
/// (plugin_search_path: `plugin_paths` from --plugin-path, then the manifest's [plugins] paths,
/// $ANVIL_PLUGIN_PATH, the installed folder) and validates every section. Throws ConfigError
/// with every problem, naming file, line and key.
OpenRun open_run(const std::filesystem::path& manifest_path, const std::vector<std::string>& overrides,
                 const std::vector<std::string>& plugin_paths);

/// The plugins on the search path of `plugin_paths` (--plugin-path) followed by
/// `manifest_paths` ([plugins] paths), $ANVIL_PLUGIN_PATH and the installed folder.
std::unique_ptr<PluginHost> discover_plugins(const std::vector<std::string>& plugin_paths,
                                             const std::vector<std::filesystem::path>& manifest_paths);

/// The plugins for a command that needs one component, `name` of `kind`, and no manifest: the
/// libraries named for `kind` first (PluginHost::discover_kind), which for a tokenizer means no
/// LibTorch, then every other library only when none of them provides it.
std::unique_ptr<PluginHost> discover_plugins_for(const std::vector<std::string>& plugin_paths,
                                                 ComponentKind kind, const std::string& name);

/// The manifest's [plugins] paths, resolved against the file that names them.
std::vector<std::filesystem::path> manifest_plugin_paths(const Manifest& manifest);

}  // namespace anvil::core
