// `anvil plugins list` and `anvil plugins show NAME`: what is installed, where it came from, and
// every option a component declares (the same declaration the manifest is validated against).
#include "cli/command.h"
#include "cli/run_setup.h"
#include "metrics/table.h"

#include <anvil/errors.h>
#include <anvil/options.h>

#include <fmt/format.h>

#include <iostream>

namespace po = boost::program_options;

namespace anvil::core {
namespace {

std::unique_ptr<PluginHost> host_for(const CommonOptions& common, const std::string& manifest) {
  if (manifest.empty()) return load_plugins(common, {});
  return load_plugins(common, manifest_plugin_paths(Manifest::load(manifest)));
}

int list_plugins(const PluginHost& host, std::ostream& out) {
  Table table({"NAME", "KIND", "VERSION", "STATUS", "LIBRARY"});
  for (const ComponentEntry* entry : host.components()) {
    table.add({entry->spec.name, std::string(to_string(entry->spec.kind)), entry->plugin_version,
               "loaded", entry->library_path.string()});
  }
  std::vector<const LibraryRecord*> rejected;
  for (const LibraryRecord& record : host.libraries()) {
    if (record.status != LibraryRecord::Status::rejected) continue;
    rejected.push_back(&record);
    table.add({record.name, "-", record.version.empty() ? "-" : record.version, "rejected",
               record.path.string()});
  }
  if (table.empty()) {
    out << "no plugins found.\n";
  } else {
    table.print(out);
  }
  for (const LibraryRecord* record : rejected) {
    out << "\nrejected " << record->path.string() << ":\n  " << record->reason << "\n";
    if (!record->hint.empty()) out << "  HINT: " << record->hint << "\n";
  }
  return 0;
}

std::string option_constraints(const OptionSpec& spec) {
  std::string text;
  if (spec.is_required()) text += "required";
  const auto number = [](double v) {
    std::string s = fmt::format("{}", v);
    return s;
  };
  if (spec.lower() && spec.upper()) {
    text += (text.empty() ? "" : "; ") + number(*spec.lower()) + " .. " + number(*spec.upper());
  } else if (spec.lower()) {
    text += (text.empty() ? "" : "; ") + std::string(">= ") + number(*spec.lower());
  } else if (spec.upper()) {
    text += (text.empty() ? "" : "; ") + std::string("<= ") + number(*spec.upper());
  }
  if (!spec.choices().empty()) {
    std::string joined;
    for (const auto& c : spec.choices()) joined += (joined.empty() ? "" : " | ") + c;
    text += (text.empty() ? "" : "; ") + joined;
  }
  return text;
}

// The manifest section a component of `kind` is configured in.
std::string section_of(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::architecture: return "model";
    case ComponentKind::evaluator: return "eval";
    default: return std::string(to_string(kind));
  }
}

void show_component(const ComponentEntry& entry, bool as_toml, std::ostream& out) {
  const ComponentSpec& spec = entry.spec;
  if (as_toml) {
    out << "# " << spec.description << "\n[" << section_of(spec.kind) << "]\nplugin = \""
        << spec.name << "\"\n";
    for (const OptionSpec& o : spec.options.specs()) {
      out << "# " << o.doc();
      const std::string constraints = option_constraints(o);
      if (!constraints.empty()) out << " (" << constraints << ")";
      out << "\n";
      if (o.default_value())
        out << o.key() << " = " << o.default_text() << "\n";
      else
        out << "# " << o.key() << " = <" << to_string(o.type()) << ">\n";
    }
    return;
  }
  out << to_string(spec.kind) << " '" << spec.name << "': " << spec.description << "\n"
      << "  plugin   " << entry.plugin_name << " " << entry.plugin_version << "\n"
      << "  library  " << entry.library_path.string() << "\n"
      << "  section  [" << section_of(spec.kind) << "] plugin = \"" << spec.name << "\"\n\n";
  if (spec.options.specs().empty()) {
    out << "no options.\n";
    return;
  }
  Table table({"KEY", "TYPE", "DEFAULT", "ALLOWED", "DOC"});
  for (const OptionSpec& o : spec.options.specs()) {
    table.add({o.key(), std::string(to_string(o.type())),
               o.default_value() ? o.default_text() : "-", option_constraints(o), o.doc()});
  }
  table.print(out);
}

int show_plugin(const PluginHost& host, const std::string& name, const std::string& kind_name,
                bool as_toml, std::ostream& out) {
  std::optional<ComponentKind> kind;
  if (!kind_name.empty()) {
    kind = parse_component_kind(kind_name);
    if (!kind)
      throw Error("unknown component kind '" + kind_name + "'",
                  "kinds are tokenizer, architecture, optimizer, offload, loss, evaluator");
  }
  std::vector<const ComponentEntry*> matches;
  std::vector<std::string> all_names;
  for (const ComponentEntry* entry : host.components()) {
    all_names.push_back(entry->spec.name);
    if (entry->spec.name == name && (!kind || entry->spec.kind == *kind)) matches.push_back(entry);
  }
  if (matches.empty()) {
    const std::string close = closest_match(name, all_names);
    throw Error("no plugin component named '" + name + "'" +
                    (kind ? " of kind " + kind_name : std::string()),
                close.empty() ? "run 'anvil plugins list' to see what is installed"
                              : "did you mean '" + close + "'?");
  }
  for (std::size_t i = 0; i < matches.size(); ++i) {
    if (i) out << "\n";
    show_component(*matches[i], as_toml, out);
  }
  return 0;
}

}  // namespace

int run_plugins_command(const std::vector<std::string>& args) {
  CommonOptions common;
  std::string action, name, kind, manifest;
  bool as_toml = false;
  po::options_description description("plugins options");
  description.add_options()
      ("action", po::value(&action), "list | show")
      ("name", po::value(&name), "component name (for show)")
      ("kind", po::value(&kind)->value_name("KIND"), "only components of this kind (for show)")
      ("toml", po::bool_switch(&as_toml), "show: print a commented manifest section instead")
      ("manifest", po::value(&manifest)->value_name("FILE"),
       "also search the [plugins] paths of this manifest");
  add_common_options(description, common);
  po::positional_options_description positional;
  positional.add("action", 1).add("name", 1);
  po::variables_map values;
  if (!parse_command_line(args, "anvil plugins list | show NAME [options]", description,
                          positional, values, common))
    return 0;

  if (action == "list" || action.empty()) {
    if (!name.empty()) throw Error("'plugins list' takes no name", "use 'anvil plugins show " + name + "'");
    return list_plugins(*host_for(common, manifest), std::cout);
  }
  if (action == "show") {
    if (name.empty()) throw Error("'plugins show' needs a component name", "e.g. 'anvil plugins show sgd'");
    return show_plugin(*host_for(common, manifest), name, kind, as_toml, std::cout);
  }
  throw Error("unknown plugins action '" + action + "'", "use 'anvil plugins list' or 'anvil plugins show NAME'");
}

}  // namespace anvil::core
