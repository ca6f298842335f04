#include "plugin/plugin_host.h"

#include "plugin/host_info.h"
#include "plugin/plugin_library.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <system_error>
#include <utility>

namespace anvil::core {

namespace fs = std::filesystem;

// Collects what one library's register function adds. Nothing reaches the host's registry
// until register returned and every entry passed the checks, so a failing library registers
// nothing.
class PluginHost::Registrar final : public Registry {
 public:
  struct Staged {
    ComponentSpec spec;
    ComponentFactory factory;
  };

  void add_component(ComponentSpec spec, ComponentFactory factory) override {
    staged.push_back(Staged{std::move(spec), std::move(factory)});
  }
  std::string host_version() const override { return host_info().sdk_version; }
  void add_model_footprint(std::string name, ModelFootprintFn footprint) override {
    footprints.emplace_back(std::move(name), std::move(footprint));
  }

  std::vector<Staged> staged;
  std::vector<std::pair<std::string, ModelFootprintFn>> footprints;
};

namespace {

// Two spellings of one file (relative, through a symlink) are the same library.
fs::path canonical_key(const fs::path& path) {
  std::error_code error;
  fs::path key = fs::weakly_canonical(path, error);
  return error ? path : key;
}

const LibraryRecord* find_record(const std::vector<LibraryRecord>& records, const fs::path& path) {
  const fs::path key = canonical_key(path);
  for (const LibraryRecord& record : records)
    if (canonical_key(record.path) == key) return &record;
  return nullptr;
}

std::string text_or_empty(const char* text) { return text ? text : ""; }

void describe(LibraryRecord& record, const anvil_plugin_info& info) {
  if (info.name && *info.name) record.name = info.name;
  record.version = text_or_empty(info.version);
  record.description = text_or_empty(info.description);
  record.license = text_or_empty(info.license);
  record.compiler = text_or_empty(info.compiler);
}

void call_register(PluginLibrary& library, const LibraryRecord& record, Registry& registry) {
  try {
    library.register_function()(registry);
  } catch (const std::exception& e) {
    throw plugin_errors::register_failed(record.path, record.name, e.what());
  } catch (...) {
    throw plugin_errors::register_failed(record.path, record.name,
                                         plugin_errors::kUnknownException);
  }
}

// Throws for the first staged component that is malformed or whose (kind, name) is taken,
// by an earlier library or earlier in the same one.
template <class Staged>
void check_staged(const std::vector<Staged>& staged, const std::vector<ComponentEntry>& entries,
                  const LibraryRecord& record) {
  for (auto it = staged.begin(); it != staged.end(); ++it) {
    const ComponentSpec& spec = it->spec;
    if (spec.name.empty())
      throw plugin_errors::unnamed_component(record.path, record.name, spec.kind);
    if (!it->factory)
      throw plugin_errors::component_without_factory(record.path, record.name, spec.kind,
                                                     spec.name);
    for (const ComponentEntry& entry : entries)
      if (entry.spec.kind == spec.kind && entry.spec.name == spec.name)
        throw plugin_errors::duplicate_component(spec.kind, spec.name, entry.library_path,
                                                 record.path);
    for (auto earlier = staged.begin(); earlier != it; ++earlier)
      if (earlier->spec.kind == spec.kind && earlier->spec.name == spec.name)
        throw plugin_errors::duplicate_in_library(spec.kind, spec.name, record.path);
  }
}

// Throws unless every footprint belongs to an architecture the same library registers.
template <class Staged>
void check_footprints(const std::vector<std::pair<std::string, ModelFootprintFn>>& footprints,
                      const std::vector<Staged>& staged, const LibraryRecord& record) {
  for (const auto& [name, footprint] : footprints) {
    const bool known = footprint && std::any_of(staged.begin(), staged.end(), [&](const Staged& s) {
                         return s.spec.kind == ComponentKind::architecture && s.spec.name == name;
                       });
    if (!known) throw plugin_errors::footprint_without_model(record.path, record.name, name);
  }
}

std::string component_label(const ComponentSpec& spec) {
  return std::string(to_string(spec.kind)) + "/" + spec.name;
}

// The `*.so` files directly in `folder`, sorted by name. Unreadable folders are logged.
std::vector<fs::path> libraries_in(const fs::path& folder) {
  std::vector<fs::path> found;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    std::error_code type_error;
    if (it->path().extension() == ".so" && !it->is_directory(type_error))
      found.push_back(it->path());
  }
  if (error) spdlog::error("cannot list plugin folder '{}': {}", folder.string(), error.message());
  std::sort(found.begin(), found.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return found;
}

void log_rejection(const std::string& message, const std::string& hint) {
  spdlog::error("{}", message);
  if (!hint.empty()) spdlog::error("HINT: {}", hint);
}

}  // namespace

PluginHost::PluginHost() = default;

PluginHost::~PluginHost() {
  // Everything made by a library goes before the library; libraries close in reverse load
  // order, so one loaded later (which may use an earlier one) closes first.
  entries_.clear();
  while (!loaded_.empty()) loaded_.pop_back();
}

void PluginHost::load(const fs::path& library) {
  const fs::path path = fs::absolute(library).lexically_normal();
  if (const LibraryRecord* seen = find_record(libraries_, path)) {
    if (seen->status == LibraryRecord::Status::loaded) return;
    throw PluginError(seen->path.string(), seen->reason, seen->hint);
  }

  const std::size_t index = libraries_.size();
  LibraryRecord fresh;
  fresh.path = path;
  fresh.name = path.filename().string();
  libraries_.push_back(std::move(fresh));
  const auto reject = [&](const PluginError& error) {
    LibraryRecord& record = libraries_[index];
    record.status = LibraryRecord::Status::rejected;
    record.reason = error.what();
    record.hint = error.hint();
  };

  try {
    std::shared_ptr<PluginLibrary> opened = PluginLibrary::open(path);
    // From here on the library may have run code: it stays loaded as long as the host lives,
    // even when rejected below.
    loaded_.push_back(opened);
    LibraryRecord& record = libraries_[index];
    if (const anvil_plugin_info* info = opened->info()) describe(record, *info);
    opened->check(host_info());

    Registrar registrar;
    call_register(*opened, record, registrar);
    check_staged(registrar.staged, entries_, record);
    check_footprints(registrar.footprints, registrar.staged, record);

    // Commit. Allocate first, so that nothing below can fail halfway through.
    std::vector<std::string> labels;
    for (const Registrar::Staged& staged : registrar.staged)
      labels.push_back(component_label(staged.spec));
    entries_.reserve(entries_.size() + registrar.staged.size());
    for (Registrar::Staged& staged : registrar.staged) {
      ComponentEntry entry;
      entry.library = opened;
      entry.spec = std::move(staged.spec);
      entry.factory = std::move(staged.factory);
      if (entry.spec.kind == ComponentKind::architecture)
        for (auto& [name, footprint] : registrar.footprints)
          if (name == entry.spec.name) entry.footprint = footprint;
      entry.library_path = path;
      entry.plugin_name = record.name;
      entry.plugin_version = record.version;
      entries_.push_back(std::move(entry));
    }
    record.components = std::move(labels);
    record.status = LibraryRecord::Status::loaded;
    spdlog::debug("loaded plugin '{}' {} from '{}' ({} components)", record.name, record.version,
                  path.string(), record.components.size());
  } catch (const PluginError& error) {
    reject(error);
    throw;
  } catch (const std::exception& error) {
    PluginError wrapped = plugin_errors::load_failed(path, error.what());
    reject(wrapped);
    throw wrapped;
  }
}

std::string_view library_prefix(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::tokenizer: return "tokenizer-";
    case ComponentKind::architecture: return "arch-";
    case ComponentKind::optimizer: return "optimizer-";
    case ComponentKind::offload: return "offload-";
    case ComponentKind::loss: return "loss-";
    case ComponentKind::evaluator: return "eval-";
  }
  return {};
}

void PluginHost::discover(const std::vector<fs::path>& search_path) {
  discover_matching(search_path, {});
}

void PluginHost::discover_kind(const std::vector<fs::path>& search_path, ComponentKind kind) {
  discover_matching(search_path, library_prefix(kind));
}

void PluginHost::discover_matching(const std::vector<fs::path>& search_path,
                                   std::string_view file_prefix) {
  const auto try_load = [this, file_prefix](const fs::path& file) {
    if (file.filename().string().compare(0, file_prefix.size(), file_prefix) != 0) return;
    try {
      if (find_record(libraries_, file)) return;  // seen earlier in the search path
      load(file);
    } catch (const PluginError& error) {
      log_rejection(error.what(), error.hint());
    } catch (const std::exception& error) {
      log_rejection(error.what(), {});
    }
  };

  for (const fs::path& entry : search_path) {
    // An entry searched before (discover_kind, then discover) was reported then.
    const bool first_search = std::find(searched_.begin(), searched_.end(), entry) == searched_.end();
    if (first_search) searched_.push_back(entry);
    std::error_code error;
    if (fs::is_directory(entry, error)) {
      for (const fs::path& file : libraries_in(entry)) try_load(file);
    } else if (fs::exists(entry, error)) {
      try_load(entry);
    } else if (first_search) {
      spdlog::warn("plugin search path entry '{}' does not exist; skipped", entry.string());
    }
  }
}

const ComponentEntry* PluginHost::find(ComponentKind kind, std::string_view name) const {
  for (const ComponentEntry& entry : entries_)
    if (entry.spec.kind == kind && entry.spec.name == name) return &entry;
  return nullptr;
}

std::vector<const ComponentEntry*> PluginHost::components() const {
  std::vector<const ComponentEntry*> all;
  for (const ComponentEntry& entry : entries_) all.push_back(&entry);
  std::sort(all.begin(), all.end(), [](const ComponentEntry* a, const ComponentEntry* b) {
    if (a->spec.kind != b->spec.kind) return a->spec.kind < b->spec.kind;
    return a->spec.name < b->spec.name;
  });
  return all;
}

const ComponentSpec* PluginHost::find_spec(ComponentKind kind, std::string_view name) const {
  const ComponentEntry* entry = find(kind, name);
  return entry ? &entry->spec : nullptr;
}

std::vector<std::string> PluginHost::names(ComponentKind kind) const {
  std::vector<std::string> found;
  for (const ComponentEntry& entry : entries_)
    if (entry.spec.kind == kind) found.push_back(entry.spec.name);
  std::sort(found.begin(), found.end());
  return found;
}

std::string PluginHost::search_summary() const {
  std::string searched;
  for (const fs::path& folder : searched_) searched += (searched.empty() ? "" : ", ") + folder.string();
  std::string failed;
  for (const LibraryRecord& library : libraries_)
    if (library.status == LibraryRecord::Status::rejected)
      failed += (failed.empty() ? "" : "; ") + library.path.filename().string() + " (" + library.reason + ")";
  std::string text = searched.empty() ? "" : "searched: " + searched;
  if (!failed.empty()) text += std::string(text.empty() ? "" : "; ") + "failed to load: " + failed;
  return text;
}

std::shared_ptr<Component> PluginHost::create_component(ComponentKind kind, std::string_view name,
                                                        const Options& options,
                                                        const RunContext& context) const {
  const ComponentEntry* entry = find(kind, name);
  if (!entry) throw plugin_errors::unknown_component(kind, name, names(kind), search_summary());

  // Problems the factory recorded explain its failure better than whatever it threw after.
  Diagnostics& diagnostics = options.diagnostics();
  const std::size_t diagnostics_before = diagnostics.size();
  const auto throw_recorded = [&] {
    if (diagnostics.size() > diagnostics_before) diagnostics.throw_if_any();
  };

  std::unique_ptr<Component> made;
  try {
    made = entry->factory(options, context);
  } catch (const ConfigError&) {
    throw_recorded();
    throw;
  } catch (const std::exception& error) {
    throw_recorded();
    throw plugin_errors::component_failed(kind, name, entry->library_path, error.what());
  } catch (...) {
    throw_recorded();
    throw plugin_errors::component_failed(kind, name, entry->library_path,
                                          plugin_errors::kUnknownException);
  }
  throw_recorded();
  if (!made)
    throw plugin_errors::component_failed(kind, name, entry->library_path,
                                          plugin_errors::kFactoryReturnedNull);

  // The deleter owns a reference to the library: the object is destroyed before its code can
  // be unloaded, even when it outlives the host (STYLE 2.7).
  return std::shared_ptr<Component>(made.release(),
                                    [library = entry->library](Component* component) {
                                      delete component;
                                    });
}

}  // namespace anvil::core
