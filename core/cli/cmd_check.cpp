// `anvil check run.toml`: fail before compute. Loads the manifest (extends, --set), loads the
// plugins, validates every key against the core's and each plugin's declared options, creates
// the components that are cheap to create so their own semantic checks run, and prints the
// resolved manifest.
#include "cli/command.h"
#include "cli/data_setup.h"
#include "cli/run_setup.h"
#include "cli/table.h"
#include "data/dataset.h"
#include "log/logging.h"
#include "manifest/validate.h"
#include "metrics/progress_bar.h"
#include "train/train_config.h"

#include <anvil/errors.h>
#include <anvil/options.h>
#include <anvil/toml_text.h>

#include <spdlog/spdlog.h>

#include <iostream>

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace anvil::core {
namespace {

// Models are not built by `check`: a 6.7B preset would allocate its weights. Their options are
// still fully validated against the declared schema.
bool cheap_to_create(ComponentKind kind) { return kind != ComponentKind::architecture; }

// Creates each cheap component once so that checks only its factory can make (a value that
// depends on another, a file that must exist) are reported now; collects every problem.
void create_components(const std::vector<ComponentSection>& sections, const PluginHost& host) {
  std::vector<Diagnostic> problems;
  for (const ComponentSection& section : sections) {
    if (!cheap_to_create(section.kind)) continue;
    Diagnostics diagnostics;
    Options options(*section.table, section.key_path, diagnostics);
    auto logger = make_logger(std::string(to_string(section.kind)) + "/" + section.plugin);
    RunContext context;
    context.logger = logger.get();
    try {
      host.create_component(section.kind, section.plugin, options, context);
    } catch (const ConfigError& e) {
      problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

// Where the run's data stands. A prepared dataset must fit the run (same tokenizer, enough
// tokens for one sequence); one that is merely out of date is rebuilt by the next prepare.
std::string data_status(Manifest& manifest) {
  const toml::array* train = manifest.root().at_path("data.train").as_array();
  if (!train || train->empty()) return "data: [data] train lists no inputs yet\n";
  DataPlan plan = plan_data(manifest);
  const toml::table* tokenizer = manifest.root()["tokenizer"].as_table();
  if (!fs::exists(plan.dataset_dir / kDatasetInfoFile))
    return "data: " + plan.dataset_dir.string() + " is not prepared yet (anvil data prepare " +
           manifest.path().string() + ")\n";
  const Dataset dataset = Dataset::open(plan.dataset_dir, {/*verify_checksums=*/false});
  const std::int64_t seq_len = manifest.root().at_path("training.seq_len").value_or(std::int64_t{1});
  check_dataset_fits_run(dataset.info(), plan.dataset_dir, *tokenizer, seq_len,
                         manifest.path().string());
  std::string status = "data: " + plan.dataset_dir.string();
  for (const auto& [name, split] : dataset.info().splits)
    status += ", " + name + " " + format_count(split.tokens) + " tokens";
  set_config_fingerprint(plan, data_tokenizer_section(plan, tokenizer, ""));
  if (plan.prepare.config_fingerprint != dataset.info().config_fingerprint)
    status += " (out of date: inputs or options changed; anvil data prepare rebuilds it)";
  return status + "\n";
}

void print_summary(const Manifest& manifest, const std::vector<ComponentSection>& sections,
                   const PluginHost& host, const std::string& data, std::ostream& out) {
  out << "manifest " << manifest.path().string();
  if (manifest.files().size() > 1) {
    out << " (extends";
    for (std::size_t i = 1; i < manifest.files().size(); ++i) out << " " << manifest.files()[i].string();
    out << ")";
  }
  out << "\n\n";
  Table table({"SECTION", "KIND", "PLUGIN", "FROM"});
  for (const ComponentSection& section : sections) {
    const ComponentEntry* entry = host.find(section.kind, section.plugin);
    table.add({section.key_path, std::string(to_string(section.kind)), section.plugin,
               entry ? entry->plugin_name + " " + entry->plugin_version : "?"});
  }
  table.print(out);
  out << "\n" << data;
  out << "\nOK: " << sections.size() << " components, every key valid.\n";
}

}  // namespace

int run_check_command(const std::vector<std::string>& args) {
  CommonOptions common;
  std::string manifest_path;
  std::vector<std::string> overrides;
  bool dump = false;
  po::options_description description("check options");
  description.add_options()
      ("manifest", po::value(&manifest_path)->required()->value_name("FILE"), "the run manifest")
      ("set", po::value(&overrides)->composing()->value_name("KEY=VALUE"),
       "override a manifest value, e.g. --set training.steps=200 (repeatable; TOML typing)")
      ("dump", po::bool_switch(&dump), "print only the resolved manifest (TOML) on stdout");
  add_common_options(description, common);
  po::positional_options_description positional;
  positional.add("manifest", 1);
  po::variables_map values;
  if (!parse_command_line(args, "anvil check <manifest.toml> [--set KEY=VALUE]... [--dump]",
                          description, positional, values, common))
    return 0;

  std::vector<Override> parsed;
  for (const std::string& text : overrides) parsed.push_back(Override{text});
  Manifest manifest = Manifest::load(manifest_path, parsed);
  const auto host = load_plugins(common, manifest_plugin_paths(manifest));
  const std::vector<ComponentSection> sections = validate_manifest(manifest, *host);
  create_components(sections, *host);
  read_train_config(manifest);  // the settings that depend on each other (schedule, batch)

  if (dump) {
    std::cout << format_toml(manifest.root());
  } else {
    print_summary(manifest, sections, *host, data_status(manifest), std::cout);
  }
  return 0;
}

}  // namespace anvil::core
