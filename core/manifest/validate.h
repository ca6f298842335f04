#pragma once
// Checks a whole manifest before any compute: the core's own sections against their schemas,
// each component section against the schema its plugin declared. Fills in defaults, so the
// table afterwards is the resolved manifest.

#include "manifest/manifest.h"
#include "plugin/component_catalog.h"

#include <anvil/component.h>
#include <anvil/options.h>

#include <string>
#include <vector>

namespace anvil::core {

/// A component section of the manifest and the component it selects.
struct ComponentSection {
  ComponentKind kind;
  std::string key_path;     ///< "tokenizer", "model", "loss[1]", ...
  std::string plugin;       ///< the value of its `plugin` key
  toml::table* table = nullptr;  ///< points into the manifest
};

/// Sections of the manifest and the component kinds they select (`plugin = "..."`):
/// [tokenizer] tokenizer, [model] architecture, [optimizer] optimizer, [offload] offload,
/// [[loss]] or [loss] loss, [[eval]] or [eval] evaluator.
struct SectionKind {
  const char* section;
  ComponentKind kind;
  bool required;   ///< the section must be present
  bool array_ok;   ///< may be an array of tables
};
const std::vector<SectionKind>& component_sections();

/// The keys of a component section that the host reads, not the plugin ([[loss]] weight;
/// [tokenizer] eos_token, pad_token, unk_token), or nullptr when a kind has none.
const OptionSchema* host_schema(ComponentKind kind);

/// The keys of a component section its plugin's schema does not see: `plugin` and the host's
/// keys (host_schema).
std::vector<std::string> reserved_keys(ComponentKind kind);

/// The core's own sections ([run], [plugins], [training], [data], ...) and their schemas.
const std::vector<std::pair<std::string, OptionSchema>>& core_sections();

/// Validates `manifest` against the core schemas and the components in `catalog`; every problem in
/// the manifest is collected and thrown as one ConfigError (exit code 2). On success, returns
/// the component sections, with defaults filled into the manifest.
std::vector<ComponentSection> validate_manifest(Manifest& manifest, const ComponentCatalog& catalog);

/// Validates only the core sections whose names start with `prefix` ("data": [data],
/// [data.clean], [data.dedup]), for commands that need no components; throws like
/// validate_manifest.
void validate_core_sections(Manifest& manifest, const std::string& prefix,
                            const ComponentCatalog& catalog);

}  // namespace anvil::core
