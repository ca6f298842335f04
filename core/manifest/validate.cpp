// Validation of a whole manifest before any compute: unknown sections, the core sections
// against their schemas, each component section against its plugin's schema. Every problem is
// collected and thrown once, so a user fixes a manifest in one round.

#include "manifest/validate.h"

#include <anvil/toml_text.h>

#include <algorithm>
#include <utility>

namespace anvil::core {
namespace {

// The plugin used when an optional section is absent.
const char* default_plugin(std::string_view section) {
  if (section == "offload") return "none";
  if (section == "loss") return "cross-entropy";
  return nullptr;
}

// "available: a, b" or, with nothing registered, where plugins come from.
std::string available_hint(ComponentKind kind, const std::vector<std::string>& names) {
  if (names.empty())
    return "no " + std::string(to_string(kind)) +
           " plugins are loaded; check [plugins] paths and ANVIL_PLUGIN_PATH";
  return "available: " + join(names);
}

// The main file's path, where problems with no position of their own are reported.
std::string main_file(const Manifest& manifest) {
  const toml::source_region& where = manifest.root().source();
  return where.path ? *where.path : manifest.path().string();
}

class Validator {
 public:
  Validator(Manifest& manifest, const ComponentCatalog& catalog)
      : manifest_(manifest), root_(manifest.root()), catalog_(catalog) {}

  // Only the core sections whose names start with `prefix` ("data" → [data], [data.clean], ...).
  void run_core(const std::string& prefix) {
    for (const auto& [name, schema] : core_sections())
      if (name.rfind(prefix, 0) == 0) check_core_section(name, schema);
    diagnostics_.throw_if_any();
  }

  std::vector<ComponentSection> run() {
    check_top_level();
    for (const auto& [name, schema] : core_sections()) check_core_section(name, schema);
    for (const SectionKind& section : component_sections()) check_component_section(section);
    diagnostics_.throw_if_any();
    return std::move(sections_);
  }

 private:
  void check_top_level() {
    std::vector<std::string> known;
    for (const auto& section : core_sections())
      if (section.first.find('.') == std::string::npos) known.push_back(section.first);
    for (const SectionKind& section : component_sections()) known.emplace_back(section.section);
    for (auto&& [key, node] : root_) {
      const std::string name(key.str());
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      const std::string match = closest_match(name, known);
      std::string hint =
          match.empty() ? "known sections: " + join(known) : "did you mean '" + match + "'?";
      const toml::source_region& where = key.source().begin.line ? key.source() : node.source();
      diagnostics_.add(where, name,
                       node.is_table() ? "unknown section [" + name + "]"
                                       : "unknown top-level key '" + name + "'",
                       std::move(hint));
    }
  }

  // A section that must be a table: the table, or nullptr after reporting what it is instead.
  toml::table* expect_table(toml::node& node, const std::string& key_path) {
    if (toml::table* table = node.as_table()) return table;
    diagnostics_.add(node.source(), key_path, "expected table, got " + describe_value(node),
                     "write it as a section: [" + key_path + "]");
    return nullptr;
  }

  void check_core_section(const std::string& name, const OptionSchema& schema) {
    // "data.clean" is the sub-table `clean` of [data]; the parent's schema declares it as a
    // table and has already reported it if it is something else.
    toml::table* parent = &root_;
    std::string key = name;
    if (const std::size_t dot = name.rfind('.'); dot != std::string::npos) {
      parent = root_.at_path(name.substr(0, dot)).as_table();
      key = name.substr(dot + 1);
      if (!parent || (parent->get(key) && !parent->get(key)->is_table())) return;
    }
    toml::node* node = parent->get(key);
    if (!node) node = parent->insert(key, toml::table{}).first->second.as_table();
    toml::table* table = expect_table(*node, name);
    if (!table) return;
    schema.validate(*table, name, diagnostics_);
    if (name == "run") check_device(*table);
  }

  void check_device(const toml::table& run) {
    const toml::node* node = run.get("device");
    if (!node || !node->is_string()) return;
    const std::string& device = node->as_string()->get();
    bool ok = device == "auto" || device == "cpu" || device == "cuda";
    if (!ok && device.rfind("cuda:", 0) == 0 && device.size() > 5 && device.size() <= 8)
      ok = std::all_of(device.begin() + 5, device.end(),
                       [](char c) { return c >= '0' && c <= '9'; });
    if (!ok)
      diagnostics_.add(node->source(), "run.device", "invalid device \"" + device + "\"",
                       "use auto, cpu, cuda or cuda:N (N the GPU index, e.g. cuda:0)");
  }

  void check_component_section(const SectionKind& kind) {
    const std::string name = kind.section;
    toml::node* node = root_.get(name);
    if (!node) {
      if (const char* plugin = default_plugin(name)) {
        toml::table defaulted;
        defaulted.insert("plugin", plugin);
        node = root_.insert(name, std::move(defaulted)).first->second.as_table();
        check_component(kind, *node->as_table(), name, true);
      } else if (kind.required) {
        Diagnostic diagnostic;
        diagnostic.file = main_file(manifest_);
        diagnostic.key = name;
        diagnostic.message = "missing required section [" + name + "]";
        const std::vector<std::string> names = catalog_.names(kind.kind);
        diagnostic.hint = names.empty() ? available_hint(kind.kind, names)
                                        : "add [" + name + "] with plugin = \"<name>\"; " +
                                              available_hint(kind.kind, names);
        diagnostics_.add(std::move(diagnostic));
      }
      return;
    }
    if (toml::array* array = node->as_array(); array && kind.array_ok) {
      if (array->empty() && (kind.required || default_plugin(name))) {
        diagnostics_.add(node->source(), name, "expected at least one [[" + name + "]] table");
        return;
      }
      for (std::size_t i = 0; i < array->size(); ++i) {
        const std::string key_path = name + "[" + std::to_string(i) + "]";
        if (toml::table* table = array->get(i)->as_table())
          check_component(kind, *table, key_path, false);
        else
          diagnostics_.add(array->get(i)->source(), key_path,
                           "expected table, got " + describe_value(*array->get(i)),
                           "write each entry as a [[" + name + "]] section");
      }
      return;
    }
    if (node->is_array() && !kind.array_ok) {
      diagnostics_.add(node->source(), name, "expected table, got " + describe_value(*node),
                       "there is one [" + name + "] section; [[" + name + "]] is not allowed");
      return;
    }
    if (toml::table* table = expect_table(*node, name)) check_component(kind, *table, name, false);
  }

  void check_component(const SectionKind& kind,
                       toml::table& table,
                       const std::string& key_path,
                       bool defaulted) {
    const std::string kind_name(to_string(kind.kind));
    const std::vector<std::string> names = catalog_.names(kind.kind);
    const toml::node* plugin = table.get("plugin");
    if (!plugin) {
      diagnostics_.add(table.source(), key_path + ".plugin", "missing required key 'plugin'",
                       names.empty()
                           ? available_hint(kind.kind, names)
                           : "set plugin = \"<name>\"; " + available_hint(kind.kind, names));
      return;
    }
    if (!plugin->is_string()) {
      diagnostics_.add(plugin->source(), key_path + ".plugin",
                       "expected string, got " + describe_value(*plugin),
                       names.empty() ? "" : available_hint(kind.kind, names));
      return;
    }
    const std::string& plugin_name = plugin->as_string()->get();
    const ComponentSpec* spec = catalog_.find_spec(kind.kind, plugin_name);
    if (!spec) {
      std::string hint = available_hint(kind.kind, names);
      if (const std::string match = closest_match(plugin_name, names); !match.empty())
        hint = "did you mean '" + match + "'? " + hint;
      if (const std::string searched = catalog_.search_summary(); !searched.empty()) hint += "; " + searched;
      Diagnostic diagnostic;
      diagnostic.key = key_path + ".plugin";
      diagnostic.message = "unknown " + kind_name + " plugin '" + plugin_name + "'";
      diagnostic.hint = std::move(hint);
      if (defaulted) {
        // The user wrote nothing to point at: report it on the manifest itself.
        diagnostic.file = main_file(manifest_);
        diagnostic.message += " (the default when [" + key_path + "] is absent)";
        diagnostics_.add(std::move(diagnostic));
      } else {
        diagnostics_.add(plugin->source(), std::move(diagnostic.key), std::move(diagnostic.message),
                         std::move(diagnostic.hint));
      }
      return;
    }

    if (const OptionSchema* host_keys = host_schema(kind.kind)) {
      std::vector<std::string> others;
      for (auto&& [key, value] : table)
        if (!host_keys->find(key.str())) others.emplace_back(key.str());
      host_keys->validate(table, key_path, diagnostics_, others);
    }
    spec->options.validate(table, key_path, diagnostics_, reserved_keys(kind.kind));
    sections_.push_back(ComponentSection{kind.kind, key_path, plugin_name, &table});
  }

  Manifest& manifest_;
  toml::table& root_;
  const ComponentCatalog& catalog_;
  Diagnostics diagnostics_;
  std::vector<ComponentSection> sections_;
};

}  // namespace

const OptionSchema* host_schema(ComponentKind kind) {
  // A loss term's weight belongs to the host (it sums the weighted terms), not the plugin.
  static const OptionSchema loss = [] {
    OptionSchema schema;
    schema.add("weight", 1.0, "Factor of this term in the total loss.");
    return schema;
  }();
  // Which of a tokenizer's tokens play which part is the host's business too: it packs
  // documents with the end-of-document token, and exports all three.
  static const OptionSchema tokenizer = [] {
    OptionSchema schema;
    schema.add("eos_token", OptionType::string,
               "The end-of-document token: appended after every document when [data] eos_token "
               "is not set, recorded in the tokenizer folder, exported as eos_token.");
    schema.add("pad_token", OptionType::string,
               "The padding token, exported as pad_token (Hugging Face batching asks for one).");
    schema.add("unk_token", OptionType::string, "The unknown-text token, exported as unk_token.");
    return schema;
  }();
  switch (kind) {
    case ComponentKind::loss: return &loss;
    case ComponentKind::tokenizer: return &tokenizer;
    default: return nullptr;
  }
}

std::vector<std::string> reserved_keys(ComponentKind kind) {
  std::vector<std::string> reserved = {"plugin"};
  if (const OptionSchema* host_keys = host_schema(kind))
    for (const OptionSpec& spec : host_keys->specs()) reserved.push_back(spec.key());
  return reserved;
}

const std::vector<SectionKind>& component_sections() {
  static const std::vector<SectionKind> sections = {
      {"tokenizer", ComponentKind::tokenizer, true, false},
      {"model", ComponentKind::architecture, true, false},
      {"optimizer", ComponentKind::optimizer, true, false},
      {"offload", ComponentKind::offload, false, false},
      {"loss", ComponentKind::loss, false, true},
      {"eval", ComponentKind::evaluator, false, true},
  };
  return sections;
}

std::vector<ComponentSection> validate_manifest(Manifest& manifest,
                                                const ComponentCatalog& catalog) {
  return Validator(manifest, catalog).run();
}

void validate_core_sections(Manifest& manifest, const std::string& prefix,
                            const ComponentCatalog& catalog) {
  Validator(manifest, catalog).run_core(prefix);
}

}  // namespace anvil::core
