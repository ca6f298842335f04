// `anvil check run.toml`: fail before compute. Loads the manifest (extends, --set), loads the
// plugins, validates every key against the core's and each plugin's declared options, creates
// the components that are cheap to create so their own semantic checks run, checks the
// architecture's options through its footprint, and prints the components, the data's state
// and a memory plan per rank.
#include "cli/torch_commands.h"
#include "run/data_setup.h"
#include "run/output_folder.h"
#include "run/run_components.h"
#include "cli/run_setup.h"
#include "metrics/table.h"
#include "data/dataset.h"
#include "log/logging.h"
#include "manifest/validate.h"
#include "metrics/progress_bar.h"
#include "plan/memory_plan.h"
#include "plan/optimizer_probe.h"
#include "train/device_setup.h"
#include "train/precision.h"
#include "train/train_config.h"
#include "dist/launch_environment.h"
#include "run/open_run.h"

#include <anvil/errors.h>
#include <anvil/optimizer.h>
#include <anvil/options.h>
#include <anvil/tokenizer.h>
#include <anvil/toml_text.h>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <iostream>
#include <sstream>

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace anvil::core {
namespace {

// Models are not built by `check`: a 6.7B preset would allocate its weights. Their options are
// still fully validated against the declared schema, and checked by the architecture's
// footprint (memory_plan).
bool cheap_to_create(ComponentKind kind) { return kind != ComponentKind::architecture; }

// The components create_components made that the memory plan uses, with the loggers their
// run contexts point to (which must outlive them).
struct CheapComponents {
  std::vector<std::unique_ptr<Logger>> loggers;
  std::shared_ptr<Tokenizer> tokenizer;
  std::shared_ptr<Optimizer> optimizer;
};

// Creates each cheap component once so that checks only its factory can make (a value that
// depends on another, a file that must exist) are reported now; collects every problem.
CheapComponents create_components(const std::vector<ComponentSection>& sections, const PluginHost& host) {
  CheapComponents made;
  std::vector<Diagnostic> problems;
  for (const ComponentSection& section : sections) {
    if (!cheap_to_create(section.kind)) continue;
    Diagnostics diagnostics;
    Options options(*section.table, section.key_path, diagnostics);
    made.loggers.push_back(make_logger(std::string(to_string(section.kind)) + "/" + section.plugin));
    RunContext context;
    context.logger = made.loggers.back().get();
    try {
      std::shared_ptr<Component> component = host.create_component(section.kind, section.plugin, options, context);
      if (section.kind == ComponentKind::tokenizer) made.tokenizer = std::static_pointer_cast<Tokenizer>(component);
      if (section.kind == ComponentKind::optimizer) made.optimizer = std::static_pointer_cast<Optimizer>(component);
    } catch (const ConfigError& e) {
      problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
  return made;
}

// Where the run's data stands, and the prepared dataset's vocabulary (0 when there is none).
struct DataState {
  std::string text;
  std::int64_t vocab_size = 0;
};

// A prepared dataset must fit the run (same tokenizer, enough tokens for one sequence); one
// that is merely out of date is rebuilt by the next prepare.
DataState data_state(Manifest& manifest) {
  const toml::array* train = manifest.root().at_path("data.train").as_array();
  if (!train || train->empty()) return {"data: [data] train lists no inputs yet\n"};
  DataPlan plan = plan_data(manifest);
  const toml::table* tokenizer = manifest.root()["tokenizer"].as_table();
  if (!fs::exists(plan.dataset_dir / kDatasetInfoFile))
    return {"data: " + plan.dataset_dir.string() + " is not prepared yet (anvil data prepare " +
            manifest.path().string() + ")\n"};
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
  return {status + "\n", dataset.info().tokenizer.vocab_size};
}

const ComponentSection* find_section(const std::vector<ComponentSection>& sections, ComponentKind kind) {
  for (const ComponentSection& section : sections)
    if (section.kind == kind) return &section;
  return nullptr;
}

// The vocabulary the model will have: the prepared dataset's tokenizer's, else the one the
// [tokenizer] section asks for, else what the tokenizer has before training.
std::int64_t planned_vocab_size(const Manifest& manifest, const DataState& data, const CheapComponents& made) {
  if (data.vocab_size > 0) return data.vocab_size;
  if (const auto asked = manifest.root().at_path("tokenizer.vocab_size").value<std::int64_t>()) return *asked;
  return made.tokenizer ? made.tokenizer->vocab_size() : 0;
}

// The memory of one device: --device-memory, else 80 GiB for a GPU run (this machine may have
// none to ask) and this machine's memory for a CPU run.
void set_device_memory(bool gpu, double gib, MemoryPlanInput& in) {
  if (gib > 0) {
    in.device_memory = gib * 1024 * 1024 * 1024;
    return;
  }
  if (gpu) {
    in.device_memory = 80.0 * 1024 * 1024 * 1024;
    in.device_memory_source = "assumed an 80 GiB GPU; --device-memory GIB sets it";
    return;
  }
  in.device_memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  in.device_memory_source = "this machine's memory; --device-memory GIB sets it";
}

// The memory plan of the run on `ranks` ranks, or why there is none; `checkpoint_bytes` gets
// the size of one checkpoint (fp32 weights and optimizer state), 0 when unknown.
std::string memory_plan(const Manifest& manifest, const std::vector<ComponentSection>& sections,
                        const PluginHost& host, const CheapComponents& made, const DataState& data,
                        const TrainConfig& config, std::int64_t ranks, double device_memory_gib,
                        double& checkpoint_bytes) {
  checkpoint_bytes = 0;
  const ComponentSection* model = find_section(sections, ComponentKind::architecture);
  if (!model || !made.optimizer) return "";

  // A GPU run is planned in its precision even on a machine without one.
  const bool gpu = config.device.rfind("cuda", 0) == 0;
  const Precision precision =
      resolve_precision(config.precision, gpu ? c10::Device(c10::kCUDA) : resolve_device(config.device));
  const c10::ScalarType compute = compute_dtype(precision);

  MemoryPlanInput in;
  in.ranks = ranks;
  in.micro_batch_size = config.micro_batch_size;
  in.seq_len = config.seq_len;
  in.vocab_size = planned_vocab_size(manifest, data, made);
  in.precision = precision == Precision::fp32 ? "fp32"
                                              : std::string(to_string(precision)) + " autocast over fp32 weights";
  in.optimizer = find_section(sections, ComponentKind::optimizer)->plugin;
  in.activation_checkpointing = model->table->at_path("activation_checkpointing").value_or(false);
  in.optimizer_bytes_per_parameter = optimizer_state_bytes_per_parameter(*made.optimizer);

  FootprintQuery query;
  query.vocab_size = in.vocab_size;
  query.seq_len = config.seq_len;
  query.compute_dtype = compute;
  const std::optional<ModelFootprint> footprint = architecture_footprint(sections, host, query);
  if (!footprint) {
    const ComponentEntry& entry = *host.find(ComponentKind::architecture, model->plugin);
    return "memory plan: none; architecture '" + model->plugin + "' (" + entry.plugin_name +
           ") registers no footprint\n";
  }
  in.model = *footprint;
  checkpoint_bytes = static_cast<double>(footprint->parameters) * (4 + in.optimizer_bytes_per_parameter);
  set_device_memory(gpu, device_memory_gib, in);

  std::ostringstream out;
  print_memory_plan(in, plan_memory(in), out);
  return out.str();
}

void print_summary(const Manifest& manifest, const std::vector<ComponentSection>& sections,
                   const PluginHost& host, const std::string& data, const std::string& memory,
                   std::ostream& out) {
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
  if (!memory.empty()) out << "\n" << memory;
  out << "\nOK: " << sections.size() << " components, every key valid.\n";
}

}  // namespace

int run_check_command(const std::vector<std::string>& args) {
  CommonOptions common;
  std::string manifest_path;
  std::vector<std::string> overrides;
  bool dump = false;
  std::int64_t ranks = 0;
  double device_memory_gib = 0;
  po::options_description description("check options");
  description.add_options()
      ("manifest", po::value(&manifest_path)->required()->value_name("FILE"), "the run manifest")
      ("set", po::value(&overrides)->composing()->value_name("KEY=VALUE"),
       "override a manifest value, e.g. --set training.steps=200 (repeatable; TOML typing)")
      ("dump", po::bool_switch(&dump), "print only the resolved manifest (TOML) on stdout")
      ("ranks", po::value(&ranks)->value_name("N"),
       "plan memory for N data-parallel ranks (default: $WORLD_SIZE, else 1)")
      ("device-memory", po::value(&device_memory_gib)->value_name("GIB"),
       "memory of one device for the plan (default: 80 for a GPU run, this machine's for a CPU run)");
  add_common_options(description, common);
  po::positional_options_description positional;
  positional.add("manifest", 1);
  po::variables_map values;
  if (!parse_command_line(args,
                          "anvil check <manifest.toml> [--set KEY=VALUE]... [--dump] [--ranks N] "
                          "[--device-memory GIB]",
                          description, positional, values, common))
    return 0;

  OpenRun run = open_run(manifest_path, overrides, common.plugin_paths);
  Manifest& manifest = run.manifest;
  const std::unique_ptr<PluginHost>& host = run.host;
  const std::vector<ComponentSection>& sections = run.sections;
  const CheapComponents made = create_components(sections, *host);
  // Under torchrun, srun or mpirun: the job's world size (its environment checked on the way).
  if (ranks == 0) ranks = read_launch_environment().world_size;
  if (ranks < 1) throw Error("--ranks must be at least 1, got " + std::to_string(ranks));
  if (device_memory_gib < 0) throw Error("--device-memory must be positive (GiB)");
  // The settings that depend on each other (schedule, batch over the ranks).
  const TrainConfig config = read_train_config(manifest, static_cast<int>(ranks));
  check_output_folders(manifest, config);

  if (dump) {
    std::cout << format_toml(manifest.root());
  } else {
    const DataState data = data_state(manifest);
    double checkpoint_bytes = 0;
    std::string memory =
        memory_plan(manifest, sections, *host, made, data, config, ranks, device_memory_gib, checkpoint_bytes);
    if (checkpoint_bytes > 0)
      memory += checkpoint_disk_report(config.run_dir, checkpoint_bytes, config.checkpoint.keep_last);
    print_summary(manifest, sections, *host, data.text, memory, std::cout);
  }
  return 0;
}

}  // namespace anvil::core
