// `anvil train run.toml`: the platform's main job. Validates the manifest, prepares the data
// when it is missing or out of date (training the tokenizer if needed), builds the components
// from their plugins, trains, evaluates, prints a summary and a generated sample, and leaves
// the run folder: metrics.jsonl and the resolved manifest.
#include "cli/command.h"
#include "cli/data_setup.h"
#include "cli/prepare_run.h"
#include "cli/run_setup.h"
#include "cli/table.h"
#include "cli/tokenizer_setup.h"
#include "data/dataset.h"
#include "host/blas_setup.h"
#include "host/cpu_features.h"
#include "host/peak_flops.h"
#include "log/logging.h"
#include "manifest/validate.h"
#include "metrics/metrics_file.h"
#include "metrics/progress_bar.h"
#include "metrics/train_progress.h"
#include "train/device_setup.h"
#include "train/param_groups.h"
#include "train/sampler.h"
#include "train/trainer.h"

#include <anvil/errors.h>
#include <anvil/evaluator.h>
#include <anvil/loss.h>
#include <anvil/model.h>
#include <anvil/optimizer.h>
#include <anvil/toml_text.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ATen/Parallel.h>

#include <fstream>
#include <iostream>

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace anvil::core {
namespace {

struct TrainArgs {
  CommonOptions common;
  std::string manifest;
  std::vector<std::string> sets;
  bool force_prepare = false;
};

// Components and what they need, declared in destruction order: components go before the
// loggers and metrics file they write to, and before the plugin host that holds their code.
struct Run {
  std::unique_ptr<PluginHost> host;
  std::vector<std::unique_ptr<Logger>> loggers;
  std::unique_ptr<MetricsFile> metrics;
  std::shared_ptr<Tokenizer> tokenizer;
  std::shared_ptr<Model> model;
  std::shared_ptr<Optimizer> optimizer;
  std::vector<std::shared_ptr<Loss>> losses;
  std::vector<std::shared_ptr<Evaluator>> evaluators;
};

template <typename T>
std::shared_ptr<T> create(Run& run, const ComponentSection& section, RunContext context) {
  Diagnostics diagnostics;
  Options options(*section.table, section.key_path, diagnostics);
  run.loggers.push_back(make_logger(std::string(to_string(section.kind)) + "/" + section.plugin));
  context.logger = run.loggers.back().get();
  return run.host->create<T>(section.plugin, options, context);
}

// The precision a run computes in: [training] precision, with auto resolved for the device.
Precision resolve_precision(const std::string& name, c10::Device device) {
  const std::string resolved = name == "auto" ? resolve_auto_precision(device, cpu_features()) : name;
  return *parse_precision(resolved);
}

void write_resolved_manifest(const Manifest& manifest, const fs::path& run_dir) {
  fs::create_directories(run_dir);
  std::ofstream out(run_dir / "manifest.toml");
  out << "# The resolved manifest of this run (defaults filled in), from " << manifest.path().string()
      << "\n" << manifest.root() << "\n";
  if (!out) throw Error("cannot write " + (run_dir / "manifest.toml").string());
}

std::string seconds_text(double seconds) { return format_duration(seconds) + fmt::format(" ({:.1f} s)", seconds); }

void print_summary(const TrainSummary& summary, std::ostream& out) {
  Table table({"", ""});
  table.add({"steps", format_count(static_cast<std::uint64_t>(summary.steps)) +
                          (summary.skipped_steps ? fmt::format(" ({} skipped)", summary.skipped_steps) : "")});
  table.add({"tokens", format_count(static_cast<std::uint64_t>(summary.tokens))});
  table.add({"time", seconds_text(summary.seconds)});
  table.add({"throughput", format_count(static_cast<std::uint64_t>(summary.tokens_per_s)) + " tokens/s"});
  if (summary.mfu >= 0) table.add({"MFU", fmt::format("{:.1f}%", 100 * summary.mfu)});
  table.add({"final train loss", fmt::format("{:.4f}", summary.final_loss)});
  for (const Metric& m : summary.eval)
    if (!is_token_count(m.name))
      table.add({"valid " + m.name.substr(m.name.find('.') + 1), fmt::format("{:.4f}", m.value)});
  out << "\nsummary\n";
  table.print(out);
}

// The tokenizer that made the dataset, from the copy stored with it.
void open_dataset_tokenizer(Run& run, const fs::path& dataset_dir) {
  const fs::path dir = dataset_dir / kDatasetTokenizerDir;
  toml::table section = tokenizer_section_of(dir, "");
  run.loggers.push_back(make_logger("tokenizer/" + section["plugin"].value_or(std::string())));
  run.tokenizer = make_tokenizer(*run.host, section, (dir / kTokenizerSidecar).string(), *run.loggers.back());
  run.tokenizer->load(dir);
}

struct Objectives {
  std::vector<LossTerm> losses;
  std::vector<std::pair<std::string, Evaluator*>> evaluators;
};

// Model, optimizer, losses and evaluators from their sections, in manifest order.
Objectives create_components(Run& run, const std::vector<ComponentSection>& sections,
                             const RunContext& context) {
  Objectives objectives;
  for (const ComponentSection& section : sections) {
    switch (section.kind) {
      case ComponentKind::architecture: run.model = create<Model>(run, section, context); break;
      case ComponentKind::optimizer: run.optimizer = create<Optimizer>(run, section, context); break;
      case ComponentKind::loss:
        run.losses.push_back(create<Loss>(run, section, context));
        objectives.losses.push_back({section.plugin, run.losses.back().get(),
                                     (*section.table)["weight"].value_or(1.0)});
        break;
      case ComponentKind::evaluator:
        run.evaluators.push_back(create<Evaluator>(run, section, context));
        objectives.evaluators.emplace_back(section.plugin, run.evaluators.back().get());
        break;
      default: break;  // the tokenizer is the dataset's; offload comes with sharding
    }
  }
  return objectives;
}

// What is about to run: model size, batch shape, precision, the measured peak, the data.
void print_header(const TrainConfig& config, Model& model, const TrainEnvironment& env,
                  const TrainLoader& loader, std::ostream& out) {
  const std::int64_t sequences = config.micro_batch_size * config.grad_accum_steps;
  out << fmt::format(
      "\ntraining {} on {}: {} parameters, {:.1f} MFLOP/token, {} steps of {} sequences x {} tokens "
      "({} micro-batch{} of {})\n",
      config.name, env.device.str(), format_count(static_cast<std::uint64_t>(parameter_count(model))),
      model.flops_per_token(config.seq_len) / 1e6, config.steps, sequences, config.seq_len,
      config.grad_accum_steps, config.grad_accum_steps == 1 ? "" : "es", config.micro_batch_size);
  const BlasInfo blas = blas_info();
  out << fmt::format(
      "precision {}{}, {} threads, peak {:.1f} GFLOP/s measured ({}), train {} tokens ({:.2f} epochs)\n",
      to_string(env.precision), config.precision == "auto" ? " (auto)" : "", at::get_num_threads(),
      env.peak_flops / 1e9, env.device.is_cpu() ? describe(blas) : "matmul",
      format_count(loader.windows_per_epoch() * static_cast<std::uint64_t>(config.seq_len)),
      static_cast<double>(config.steps * sequences) / static_cast<double>(loader.windows_per_epoch()));
  if (env.device.is_cpu() && !blas.fast)
    spdlog::warn("LibTorch multiplies matrices through {}; install libopenblas0-pthread for a fast path",
                 describe(blas));
}

void record_summary(MetricsFile& metrics, const TrainSummary& summary, Model& model,
                    const TrainConfig& config, const TrainEnvironment& env) {
  Metrics record{{"steps", static_cast<double>(summary.steps)},
                 {"skipped_steps", static_cast<double>(summary.skipped_steps)},
                 {"tokens", static_cast<double>(summary.tokens)},
                 {"train_seconds", summary.seconds},
                 {"tokens_per_s", summary.tokens_per_s},
                 {"final_loss", summary.final_loss},
                 {"peak_flops", env.peak_flops},
                 {"flops_per_token", model.flops_per_token(config.seq_len)},
                 {"params", static_cast<double>(parameter_count(model))}};
  if (summary.mfu >= 0) record.push_back({"mfu", summary.mfu});
  for (const Metric& m : summary.eval) record.push_back({"eval." + m.name, m.value});
  metrics.write("summary", summary.steps, record,
                {{"precision", to_string(env.precision)}, {"device", env.device.str()}});
}

void print_sample(Run& run, const TrainConfig& config, const TrainEnvironment& env, std::int64_t step) {
  const std::uint64_t seed = config.sample.seed ? config.sample.seed : derive_seed(config.seed, /*sample=*/2);
  const Sample sample = generate(*run.model, *run.tokenizer, config.sample, seed, env.device);
  std::cout << fmt::format("\nsample ({} tokens, {:.0f} tokens/s, temperature {}, top-k {}):\n",
                           sample.tokens.size(), sample.tokens.size() / std::max(sample.seconds, 1e-9),
                           config.sample.temperature, config.sample.top_k)
            << config.sample.prompt << sample.text << "\n";
  run.metrics->write("sample", step, {}, {{"prompt", config.sample.prompt}, {"text", sample.text}});
}

}  // namespace

int run_train_command(const std::vector<std::string>& argv) {
  TrainArgs args;
  po::options_description description("train options");
  description.add_options()
      ("manifest", po::value(&args.manifest)->value_name("FILE"), "the run manifest")
      ("set", po::value(&args.sets)->composing()->value_name("KEY=VALUE"),
       "override a manifest value, e.g. --set training.steps=100")
      ("force-prepare", po::bool_switch(&args.force_prepare),
       "prepare the dataset again even if it is up to date");
  add_common_options(description, args.common);
  po::positional_options_description positional;
  positional.add("manifest", 1);
  po::variables_map values;
  if (!parse_command_line(argv, "anvil train <manifest.toml> [--set KEY=VALUE]...", description,
                          positional, values, args.common))
    return 0;
  if (args.manifest.empty()) throw po::error("anvil train needs a manifest: anvil train run.toml");

  std::vector<Override> overrides;
  for (const std::string& text : args.sets) overrides.push_back(Override{text});
  Manifest manifest = Manifest::load(args.manifest, overrides);
  Run run;
  run.host = load_plugins(args.common, manifest_plugin_paths(manifest));
  const std::vector<ComponentSection> sections = validate_manifest(manifest, *run.host);
  const TrainConfig config = read_train_config(manifest);

  // Data: prepared (and the tokenizer trained) when missing or out of date.
  const toml::table* tokenizer_section = manifest.root()["tokenizer"].as_table();
  const fs::path dataset_dir =
      prepare_data(manifest, *run.host, tokenizer_section, "", args.force_prepare, std::cout);
  const Dataset dataset = Dataset::open(dataset_dir);
  check_dataset_fits_run(dataset.info(), dataset_dir, *tokenizer_section, config.seq_len,
                         manifest.path().string());
  open_dataset_tokenizer(run, dataset_dir);

  // Where and how to compute.
  TrainEnvironment env;
  env.device = resolve_device(config.device);
  configure_runtime(config.threads, config.deterministic, config.seed);
  env.precision = resolve_precision(config.precision, env.device);
  env.peak_flops = measure_matmul_peak(env.device, compute_dtype(env.precision));
  write_resolved_manifest(manifest, config.run_dir);
  run.metrics = std::make_unique<MetricsFile>(config.run_dir / "metrics.jsonl");

  RunContext context;
  context.device = env.device;
  context.seed = config.seed;
  context.vocab_size = run.tokenizer->vocab_size();
  context.run_dir = config.run_dir;
  context.metrics = run.metrics.get();
  Objectives objectives = create_components(run, sections, context);
  run.model->module().to(env.device);
  std::vector<ParamGroup> groups = make_param_groups(run.model->module(), config.no_decay);
  std::vector<at::Tensor> parameters = all_parameters(groups);
  run.optimizer->add_param_groups(std::move(groups));

  LoaderOptions loader_options;
  loader_options.seq_len = config.seq_len;
  loader_options.batch_size = config.micro_batch_size;
  loader_options.seed = derive_seed(config.seed, /*data=*/1);
  TrainLoader loader(dataset.split("train"), loader_options);
  std::optional<ValidationBatches> validation;
  double bytes_per_token = 0;
  if (dataset.has_split("valid") && dataset.split("valid").size() > 1) {
    validation.emplace(dataset.split("valid"), config.seq_len, config.micro_batch_size);
    const SplitInfo& valid = dataset.info().splits.at("valid");
    bytes_per_token = static_cast<double>(valid.text_bytes) / static_cast<double>(valid.tokens);
  } else {
    spdlog::warn("the dataset has no validation split; evaluation is skipped");
  }

  TrainerParts parts{*run.model, *run.optimizer, objectives.losses, parameters,
                     objectives.evaluators, run.tokenizer.get(), loader,
                     validation ? &*validation : nullptr, bytes_per_token, run.metrics.get()};
  print_header(config, *run.model, env, loader, std::cout);
  std::cout << "metrics: " << run.metrics->path().string() << "\n\n" << std::flush;

  TrainProgress progress;
  const TrainSummary summary = train(parts, config, env, progress);
  print_summary(summary, std::cout);
  record_summary(*run.metrics, summary, *run.model, config, env);
  if (!config.sample.prompt.empty()) print_sample(run, config, env, summary.steps);
  return 0;
}

}  // namespace anvil::core
