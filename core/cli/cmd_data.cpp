// `anvil data prepare`: raw text to token shards, from a manifest's [data] section or from
// flags; `anvil data inspect` is in cmd_data_inspect.cpp.
#include "cli/command.h"
#include "run/data_setup.h"
#include "run/prepare_run.h"
#include "cli/run_setup.h"
#include "metrics/table.h"
#include "run/tokenizer_setup.h"
#include "data/dataset.h"
#include "log/logging.h"
#include "manifest/validate.h"
#include "metrics/progress_bar.h"
#include "run/open_run.h"

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

  std::vector<std::string> sets = args.sets;
  if (!args.manifest.empty() && !args.out.empty())
    sets.push_back("data.dataset=" + quote_string(fs::absolute(args.out).string()));
  if (args.workers >= 0) sets.push_back("data.workers=" + std::to_string(args.workers));
  if (!args.manifest.empty() && (!args.inputs.empty() || !args.valid.empty() || !args.tokenizer.empty()))
    throw Error("give either a manifest or --input/--valid/--tokenizer, not both",
                "with a manifest, change inputs with --set data.train=[...]");

  if (!args.manifest.empty()) {
    OpenRun run = open_run(args.manifest, sets, args.common.plugin_paths);
    prepare_data(run.manifest, *run.host, run.manifest.root()["tokenizer"].as_table(), args.plugin,
                 args.force, std::cout);
    return 0;
  }
  // From flags: a manifest of [data] alone, made from them; the tokenizer is the folder's.
  std::vector<Override> overrides;
  for (const std::string& text : sets) overrides.push_back(Override{text});
  Manifest manifest = manifest_from_flags(args, overrides);
  // Only the folder's tokenizer is needed: its plugin's library first, no architecture.
  const std::string plugin =
      tokenizer_section_of(fs::absolute(args.tokenizer), args.plugin)["plugin"].value_or(std::string());
  const std::unique_ptr<PluginHost> host = discover_plugins_for(args.common.plugin_paths, ComponentKind::tokenizer, plugin);
  validate_core_sections(manifest, "data", *host);
  prepare_data(manifest, *host, nullptr, args.plugin, args.force, std::cout);
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
