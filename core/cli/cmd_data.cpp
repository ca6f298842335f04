// `anvil data prepare`: raw text to token shards, from a manifest's [data] section or from
// flags; `anvil data inspect` is in cmd_data_inspect.cpp.
#include "cli/command.h"
#include "cli/data_setup.h"
#include "cli/run_setup.h"
#include "cli/table.h"
#include "cli/tokenizer_setup.h"
#include "data/dataset.h"
#include "log/logging.h"
#include "manifest/validate.h"
#include "metrics/progress_bar.h"

#include <anvil/errors.h>
#include <anvil/toml_text.h>

#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <functional>
#include <iostream>
#include <optional>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace anvil::core {
namespace {

struct PrepareArgs {
  CommonOptions common;
  std::string manifest, tokenizer, plugin, out;
  std::vector<std::string> sets, inputs, valid;
  int workers = -1;
  bool force = false;
};

// Flags mode as a manifest held in memory, so both modes share validation and --set.
Manifest manifest_from_flags(const PrepareArgs& args, const std::vector<Override>& overrides) {
  if (args.inputs.empty()) throw Error("data prepare needs a manifest or --input PATH...");
  if (args.tokenizer.empty())
    throw Error("data prepare without a manifest needs --tokenizer DIR (a trained tokenizer)",
                "train one with: anvil tokenizer train --plugin bpe --input FILE --out DIR");
  if (args.out.empty()) throw Error("data prepare without a manifest needs --out DIR");
  const auto array = [](const std::vector<std::string>& items) {
    std::vector<std::string> quoted;
    for (const std::string& item : items) quoted.push_back(quote_string(fs::absolute(item).string()));
    return "[" + join(quoted) + "]";
  };
  const std::string text = "[data]\ntrain = " + array(args.inputs) + "\nvalid = " +
                           array(args.valid) + "\ntokenizer = " +
                           quote_string(fs::absolute(args.tokenizer).string()) + "\ndataset = " +
                           quote_string(fs::absolute(args.out).string()) + "\n";
  return Manifest::parse(text, "command line", overrides);
}

// True when `dir` holds an intact dataset made from the same inputs, options and tokenizer.
bool up_to_date(const DataPlan& plan) {
  if (!fs::exists(plan.dataset_dir / kDatasetInfoFile)) return false;
  try {
    const Dataset dataset = Dataset::open(plan.dataset_dir, {/*verify_checksums=*/false});
    return dataset.info().config_fingerprint == plan.prepare.config_fingerprint;
  } catch (const DataError& e) {
    spdlog::warn("existing dataset is damaged and will be prepared again: {}", e.what());
    return false;
  }
}

// Never replace a folder that is not a dataset: it may hold anything.
void check_replaceable(const fs::path& dir) {
  if (!fs::exists(dir) || fs::exists(dir / kDatasetInfoFile)) return;
  if (!fs::is_directory(dir) || !fs::is_empty(dir))
    throw DataError("'" + dir.string() + "' exists and is not a dataset; refusing to overwrite it",
                    "choose another [data] dataset (or --out) folder, or remove it");
}

// One progress bar per pass, replaced when the pass changes.
class PassProgress {
 public:
  void operator()(const std::string& label, std::uint64_t done, std::uint64_t total) {
    if (!bar_ || label != label_) {
      if (bar_) bar_->finish();
      bar_.emplace(label, total);
      label_ = label;
    }
    bar_->update(done);
  }
  void finish() {
    if (bar_) bar_->finish();
    bar_.reset();
  }

 private:
  std::optional<ProgressBar> bar_;
  std::string label_;
};

std::string seconds_text(double seconds) { return fmt::format("{:.2f} s", seconds); }

void print_report(const PrepareReport& report, const fs::path& dir, std::ostream& out) {
  const double mb_per_s = static_cast<double>(report.read.bytes_in) / 1e6 /
                          std::max(report.total_seconds, 1e-9);
  out << "prepared " << dir.string() << " in " << seconds_text(report.total_seconds) << " ("
      << fmt::format("{:.1f}", mb_per_s) << " MB/s of input)\n\n";
  Table table({"STAGE", "DOCS IN", "DOCS OUT", "BYTES IN", "BYTES OUT", "TIME"});
  for (const StageStats* stage : {&report.read, &report.clean, &report.dedup, &report.tokenize})
    table.add({stage->name, format_count(stage->documents_in), format_count(stage->documents_out),
               format_bytes(static_cast<double>(stage->bytes_in)),
               format_bytes(static_cast<double>(stage->bytes_out)), seconds_text(stage->seconds)});
  table.print(out);
  // Cleaning rejections only when they happened; the duplicate counts always.
  out << "\nremoved:";
  const char* separator = " ";
  for (const auto& [reason, count] : removal_counts(report)) {
    const bool duplicates = reason == "exact duplicates" || reason == "near duplicates";
    if (count == 0 && !duplicates) continue;
    out << separator << format_count(count) << " " << reason;
    separator = ", ";
  }
  out << "\n";
  out << "deduplication: " << format_count(report.near_candidates)
      << " candidate pairs compared, " << seconds_text(report.dedup_resolve_seconds)
      << " resolving\n";
  out << "repaired: " << format_count(report.clean_counts.repaired_utf8)
      << " documents with invalid UTF-8, " << format_count(report.clean_counts.control_removed)
      << " control characters removed\n";
  if (report.tokenizer_training_seconds > 0)
    out << "tokenizer trained in " << seconds_text(report.tokenizer_training_seconds) << "\n";
  for (const auto& [name, split] : report.info.splits)
    out << name << ": " << format_count(split.documents) << " documents, "
        << format_count(split.tokens) << " tokens in " << split.shards.size()
        << (split.shards.size() == 1 ? " shard\n" : " shards\n");
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // ru_maxrss is in KiB on Linux
  out << "peak memory: " << format_bytes(static_cast<double>(usage.ru_maxrss) * 1024) << "\n";
  const TokenizerIdentity& tokenizer = report.info.tokenizer;
  out << "tokenizer: " << tokenizer.plugin << " (vocabulary " << format_count(static_cast<std::uint64_t>(tokenizer.vocab_size))
      << ", " << to_string(report.info.token_type) << " tokens, end of document "
      << quote_string(tokenizer.eos_token) << " = " << tokenizer.eos_id << ")\n";
}

int prepare(const std::vector<std::string>& argv) {
  PrepareArgs args;
  po::options_description description("data prepare options");
  description.add_options()
      ("manifest", po::value(&args.manifest)->value_name("FILE"),
       "a run manifest: prepares its [data] with its [tokenizer]")
      ("set", po::value(&args.sets)->composing()->value_name("KEY=VALUE"),
       "override a manifest value, e.g. --set data.dedup.threshold=0.9 (also without a manifest)")
      ("input", po::value(&args.inputs)->multitoken()->composing()->value_name("PATH"),
       "without a manifest: training inputs (files, folders, globs)")
      ("valid", po::value(&args.valid)->multitoken()->composing()->value_name("PATH"),
       "without a manifest: validation inputs (default: hold out data.valid_fraction)")
      ("tokenizer", po::value(&args.tokenizer)->value_name("DIR"),
       "without a manifest: a trained tokenizer folder")
      ("plugin", po::value(&args.plugin)->value_name("NAME"),
       "the plugin that reads --tokenizer DIR when it has no anvil-tokenizer.toml")
      ("out", po::value(&args.out)->value_name("DIR"),
       "the dataset folder (with a manifest: replaces [data] dataset)")
      ("workers", po::value(&args.workers)->value_name("N"), "threads (0 = all cores)")
      ("force", po::bool_switch(&args.force), "prepare again even if the dataset is up to date");
  add_common_options(description, args.common);
  po::positional_options_description positional;
  positional.add("manifest", 1);
  po::variables_map values;
  if (!parse_command_line(argv,
                          "anvil data prepare <manifest.toml> [--set KEY=VALUE]... [--force]\n"
                          "       anvil data prepare --input PATH... --tokenizer DIR --out DIR "
                          "[--valid PATH...] [--set data.KEY=VALUE]...",
                          description, positional, values, args.common))
    return 0;

  std::vector<Override> overrides;
  for (const std::string& text : args.sets) overrides.push_back(Override{text});
  if (!args.manifest.empty() && !args.out.empty())
    overrides.push_back(Override{"data.dataset=" + quote_string(fs::absolute(args.out).string())});
  if (args.workers >= 0) overrides.push_back(Override{"data.workers=" + std::to_string(args.workers)});
  if (!args.manifest.empty() && (!args.inputs.empty() || !args.valid.empty() || !args.tokenizer.empty()))
    throw Error("give either a manifest or --input/--valid/--tokenizer, not both",
                "with a manifest, change inputs with --set data.train=[...]");

  const bool from_manifest = !args.manifest.empty();
  Manifest manifest = from_manifest ? Manifest::load(args.manifest, overrides)
                                    : manifest_from_flags(args, overrides);
  const std::unique_ptr<PluginHost> host =
      load_plugins(args.common, from_manifest ? manifest_plugin_paths(manifest)
                                              : std::vector<fs::path>{});
  const toml::table* manifest_tokenizer = nullptr;
  if (from_manifest) {
    validate_manifest(manifest, *host);
    manifest_tokenizer = manifest.root()["tokenizer"].as_table();
  } else {
    validate_core_sections(manifest, "data", *host);
  }
  DataPlan plan = plan_data(manifest);
  toml::table section = data_tokenizer_section(plan, manifest_tokenizer, args.plugin);
  set_config_fingerprint(plan, section);

  if (!args.force && up_to_date(plan)) {
    std::cout << "dataset " << plan.dataset_dir.string()
              << " is up to date (same inputs, options and tokenizer); --force prepares it again\n";
    return 0;
  }
  check_replaceable(plan.dataset_dir);

  const std::string plugin = section["plugin"].value_or(std::string());
  auto logger = make_logger("tokenizer/" + plugin);
  const std::shared_ptr<Tokenizer> tokenizer =
      make_tokenizer(*host, section, manifest.path().string(), *logger);
  TokenizerHooks hooks;
  hooks.tokenizer = tokenizer.get();
  hooks.plugin = plugin;
  hooks.train = plan.tokenizer_dir.empty();
  if (!hooks.train) tokenizer->load(plan.tokenizer_dir);
  hooks.save = [&](const fs::path& dir) {
    tokenizer->save(dir);
    write_tokenizer_sidecar(dir, section);
  };
  PassProgress progress;
  const PrepareReport report = prepare_dataset(plan.prepare, hooks, std::ref(progress));
  progress.finish();
  print_report(report, plan.dataset_dir, std::cout);
  return 0;
}

}  // namespace

int run_data_inspect(const std::vector<std::string>& args);

int run_data_command(const std::vector<std::string>& args) {
  return run_action("data", args,
                    "usage: anvil data prepare|inspect [options]\n"
                    "  prepare  clean, deduplicate and tokenize a corpus into token shards\n"
                    "  inspect  counts, token histogram and sample windows of a prepared dataset\n"
                    "Run 'anvil data <action> --help' for its options.\n",
                    {{"prepare", prepare}, {"inspect", run_data_inspect}});
}

}  // namespace anvil::core
