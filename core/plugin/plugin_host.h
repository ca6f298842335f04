#pragma once
// The host side of the plugin contract: finds plugin libraries, checks their info record,
// calls their register entry, and creates components from the registered factories.
//
// Lifetime rule: a library is never unloaded while the host lives, and every component the
// host creates holds a reference to its library, so no object outlives its code.

#include <anvil/component.h>
#include <anvil/context.h>
#include <anvil/options.h>
#include <anvil/registry.h>

#include "plugin/component_catalog.h"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::core {

class PluginLibrary;  // a loaded shared library (boost::dll), defined in plugin_library.h

/// What `anvil plugins list` shows about one library file.
struct LibraryRecord {
  enum class Status { loaded, rejected };
  std::filesystem::path path;     ///< as found (absolute)
  Status status = Status::rejected;
  std::string reason;             ///< why it was rejected (the PluginError's full message)
  std::string hint;               ///< what to do about it (the PluginError's hint), or empty
  std::string name;               ///< from the info record, or the file name if unreadable
  std::string version;            ///< from the info record, or empty
  std::string description;
  std::string license;
  std::string compiler;
  std::vector<std::string> components;  ///< "kind/name" of each registered component
};

/// A registered component and the library that provides it.
struct ComponentEntry {
  /// Keeps the code loaded. Declared first so that it is destroyed last: the spec's defaults
  /// and the factory were made by the library, and their destructors run its code.
  std::shared_ptr<PluginLibrary> library;
  ComponentSpec spec;
  ComponentFactory factory;
  /// Architectures only, and optional: the memory footprint from the options alone.
  ModelFootprintFn footprint;
  std::filesystem::path library_path;
  std::string plugin_name;     ///< the library's info-record name
  std::string plugin_version;  ///< the library's info-record version
};

/// The search path, in priority order: the manifest's [plugins] paths (already resolved
/// against the manifest's folder), then $ANVIL_PLUGIN_PATH (':'-separated), then the install's
/// plugin folder (<exe>/../lib/anvil/plugins). Missing folders are skipped.
std::vector<std::filesystem::path> plugin_search_path(
    const std::vector<std::filesystem::path>& manifest_paths);

/// The file-name prefix of the libraries that hold components of `kind` by convention (the
/// built-in plugins' names: "tokenizer-", "arch-", "optimizer-", "offload-", "loss-", "eval-").
std::string_view library_prefix(ComponentKind kind);

/// The folder installed plugins live in, derived from the running executable.
std::filesystem::path installed_plugin_dir();

/// Loads plugins and owns the registry of their components.
class PluginHost final : public ComponentCatalog {
 public:
  PluginHost();
  ~PluginHost() override;
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  /// Loads one library. Throws PluginError with the exact reason when the file is not a
  /// loadable library, lacks an entry point, was built against a different SDK ABI, SDK
  /// version, LibTorch, C++ ABI or toml++, registers a component name that another library
  /// already registered (both files named), or throws from its register function. A rejected
  /// library registers nothing. Loading the same file (same canonical path) twice is a no-op.
  void load(const std::filesystem::path& library);

  /// Loads every `*.so` in each folder (or file) of `search_path`, in order. Problems are
  /// recorded in libraries() and logged as errors; they never throw.
  void discover(const std::vector<std::filesystem::path>& search_path);

  /// discover() limited to the libraries named by the convention for `kind`
  /// (library_prefix: "tokenizer-*.so", ...), for a command that needs components of one kind
  /// only: it loads no architecture, so no LibTorch. Call discover() after it for everything
  /// else (when the component is not found); libraries already seen are not loaded twice.
  void discover_kind(const std::vector<std::filesystem::path>& search_path, ComponentKind kind);

  /// Every library seen by load() or discover(), loaded or rejected, in load order.
  const std::vector<LibraryRecord>& libraries() const { return libraries_; }

  /// The component `name` of `kind`, or nullptr.
  const ComponentEntry* find(ComponentKind kind, std::string_view name) const;
  /// All components, ordered by kind then name.
  std::vector<const ComponentEntry*> components() const;
  /// ComponentCatalog: the spec of `name`, or nullptr.
  const ComponentSpec* find_spec(ComponentKind kind, std::string_view name) const override;
  /// Names of all components of `kind`, sorted (for "did you mean" and error messages).
  std::vector<std::string> names(ComponentKind kind) const override;
  /// "searched: A, B; failed to load: x.so (why)" from the discover() and load() calls so far
  /// ("" when neither searched a folder nor met a library that failed).
  std::string search_summary() const override;

  /// Creates component `name` of interface T with `options` (already validated against its
  /// schema). Exceptions from the factory are rethrown as PluginError naming the component
  /// and its library; configuration problems recorded in options.diagnostics() during the call
  /// are thrown as ConfigError. The returned object keeps its library loaded.
  template <class T>
  std::shared_ptr<T> create(std::string_view name, const Options& options,
                            const RunContext& context) const {
    std::shared_ptr<Component> made = create_component(T::kKind, name, options, context);
    return std::shared_ptr<T>(made, static_cast<T*>(made.get()));
  }

  /// Type-erased create().
  std::shared_ptr<Component> create_component(ComponentKind kind, std::string_view name,
                                              const Options& options,
                                              const RunContext& context) const;

 private:
  class Registrar;  // the Registry implementation handed to one library's register function
  void discover_matching(const std::vector<std::filesystem::path>& search_path,
                         std::string_view file_prefix);
  std::vector<LibraryRecord> libraries_;
  std::vector<std::filesystem::path> searched_;  // every entry discover() was given, once
  std::vector<ComponentEntry> entries_;
  std::vector<std::shared_ptr<PluginLibrary>> loaded_;  // never unloaded before the host dies
};

}  // namespace anvil::core
