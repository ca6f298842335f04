#include "run/run_components.h"

#include "run/tokenizer_setup.h"
#include "host/cpu_features.h"
#include "host/peak_flops.h"

#include <anvil/errors.h>

namespace fs = std::filesystem;

namespace anvil::core {

void open_tokenizer_folder(Run& run, const fs::path& dir) {
  toml::table section = tokenizer_section_of(dir, "");
  run.loggers.push_back(make_logger("tokenizer/" + section["plugin"].value_or(std::string())));
  run.tokenizer = make_tokenizer(*run.host, section, (dir / kTokenizerSidecar).string(), *run.loggers.back());
  run.identities.tokenizer =
      identity_of(*run.host, ComponentKind::tokenizer, section["plugin"].value_or(std::string()));
  run.tokenizer->load(dir);
}

ComponentIdentity identity_of(const PluginHost& host, ComponentKind kind, const std::string& name) {
  ComponentIdentity identity{kind, name, {}};
  if (const ComponentEntry* entry = host.find(kind, name)) identity.library = entry->library_path;
  return identity;
}

ComponentIdentity identity_of(const PluginHost& host, const ComponentSection& section) {
  return identity_of(host, section.kind, section.plugin);
}

std::optional<ModelFootprint> architecture_footprint(const std::vector<ComponentSection>& sections,
                                                     const PluginHost& host, const FootprintQuery& query) {
  const ComponentSection& model = architecture_section(sections);
  const ComponentEntry* entry = host.find(ComponentKind::architecture, model.plugin);
  if (!entry || !entry->footprint) return std::nullopt;
  Diagnostics diagnostics;
  Options options(*model.table, model.key_path, diagnostics);
  ModelFootprint footprint = entry->footprint(options, query);
  diagnostics.throw_if_any();
  return footprint;
}

Objectives create_components(Run& run, const std::vector<ComponentSection>& sections,
                             const RunContext& context) {
  Objectives objectives;
  for (const ComponentSection& section : sections) {
    switch (section.kind) {
      case ComponentKind::architecture:
        run.model = create<Model>(run, section, context);
        run.identities.model = identity_of(*run.host, section);
        break;
      case ComponentKind::optimizer:
        run.optimizer = create<Optimizer>(run, section, context);
        objectives.optimizer = identity_of(*run.host, section);
        break;
      case ComponentKind::loss:
        run.losses.push_back(create<Loss>(run, section, context));
        objectives.losses.push_back({section.plugin, run.losses.back().get(),
                                     (*section.table)["weight"].value_or(1.0), identity_of(*run.host, section)});
        break;
      case ComponentKind::evaluator:
        run.evaluators.push_back(create<Evaluator>(run, section, context));
        objectives.evaluators.push_back({section.plugin, run.evaluators.back().get(), identity_of(*run.host, section)});
        break;
      default: break;  // the tokenizer is the dataset's; offload comes with sharding
    }
  }
  return objectives;
}

const ComponentSection& architecture_section(const std::vector<ComponentSection>& sections) {
  for (const ComponentSection& section : sections)
    if (section.kind == ComponentKind::architecture) return section;
  throw Error("the manifest has no [model] section");
}

std::vector<PluginRecord> plugin_records(const PluginHost& host, const std::vector<ComponentSection>& sections) {
  std::vector<PluginRecord> records;
  for (const ComponentSection& section : sections) {
    const ComponentEntry* entry = host.find(section.kind, section.plugin);
    if (!entry) continue;
    records.push_back({std::string(to_string(section.kind)), section.plugin, entry->plugin_name,
                       entry->plugin_version});
  }
  return records;
}

Precision resolve_precision(const std::string& name, c10::Device device) {
  const std::string resolved = name == "auto" ? resolve_auto_precision(device, cpu_features()) : name;
  return *parse_precision(resolved);
}

}  // namespace anvil::core
