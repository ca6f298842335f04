// `anvil train run.toml`: the platform's main job. Validates the manifest, prepares the data
// when it is missing or out of date (training the tokenizer if needed), builds the components
// from their plugins, trains, evaluates, prints a summary and a generated sample, and leaves
// the run folder: metrics.jsonl and the resolved manifest.
#include "cli/torch_commands.h"
#include "run/data_setup.h"
#include "checkpoint/checkpoint_io.h"
#include "checkpoint/checkpointer.h"
#include "run/output_folder.h"
#include "run/prepare_run.h"
#include "run/run_components.h"
#include "cli/run_setup.h"
#include "metrics/table.h"
#include "run/tokenizer_setup.h"
#include "data/dataset.h"
#include "host/blas_setup.h"
#include "host/cpu_features.h"
#include "host/peak_flops.h"
#include "log/logging.h"
#include "manifest/manifest_diff.h"
#include "manifest/validate.h"
#include "metrics/metrics_file.h"
#include "metrics/progress_bar.h"
#include "metrics/train_progress.h"
#include "train/device_setup.h"
#include "train/lr_schedule.h"
#include "train/param_groups.h"
#include "train/sampler.h"
#include "train/stop_signals.h"
#include "train/train_checkpoint.h"
#include "train/trainer.h"
#include "run/open_run.h"

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
#include <optional>
#include <sstream>
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
  std::optional<std::string> resume;  ///< "" = the manifest's run folder
  bool restart = false;
  std::int64_t stop_at_step = 0;
};

void warn(const std::string& message) { spdlog::warn("{}", message); }

// The resolved manifest as saved in the run folder and in every checkpoint.
std::string manifest_text(const Manifest& manifest) {
  std::ostringstream text;
  text << "# The resolved manifest of this run (defaults filled in, paths absolute), from "
       << manifest.path().string() << "\n" << manifest.root() << "\n";
  return text.str();
}

// The checkpoint to continue from, verified: `named` (what --resume named, already resolved),
// --resume without a path: the run folder's newest valid one, or with resume = "auto" the newest
// valid one when there are checkpoints; nothing for a fresh start.
std::optional<fs::path> resume_point(const TrainArgs& args, const std::optional<fs::path>& named,
                                     const TrainConfig& config) {
  if (named) return named;
  if (args.resume) return resolve_checkpoint(config.run_dir, warn);
  const fs::path checkpoints = config.run_dir / kCheckpointsDir;
  const std::vector<CheckpointEntry> existing = list_checkpoints(checkpoints);
  if (existing.empty()) return std::nullopt;
  if (!config.checkpoint.resume_auto)
    throw Error("the run folder " + config.run_dir.string() + " already has checkpoints (newest " +
                    existing.back().dir.filename().string() + ") and [checkpoint] resume = \"never\"",
                "continue it with --resume, start over with --restart (deletes its checkpoints), or "
                "choose another [run] name");
  if (auto entry = latest_valid_checkpoint(checkpoints, warn)) return entry->dir;
  throw DataError("every checkpoint in " + checkpoints.string() + " failed verification (see above)",
                  "start over with --restart (deletes them), or choose another [run] name");
}

// The manifest saved with a checkpoint.
Manifest saved_manifest(const LoadedCheckpoint& checkpoint) {
  return Manifest::parse(checkpoint.manifest_text, (checkpoint.dir / kManifestFile).string());
}

// Refuses a resume whose manifest (against `saved`, the checkpoint's) changes what the run
// computes; lists the changes it accepts.
void check_resume_manifest(const LoadedCheckpoint& checkpoint, const Manifest& saved,
                           const Manifest& manifest) {
  std::string unsafe, safe;
  for (const ManifestChange& change : diff_manifests(saved.root(), manifest.root())) {
    const std::string line = fmt::format("\n  {}: {} -> {}", change.key, change.before, change.after);
    (is_safe_resume_change(change.key) ? safe : unsafe) += line;
  }
  if (!unsafe.empty()) {
    Diagnostic problem;
    problem.file = manifest.path().string();
    problem.message = "cannot resume from " + checkpoint.dir.string() +
                      ": the manifest differs from the one saved with it in keys that change the run:" + unsafe;
    problem.hint = "resume with the saved manifest (anvil train --resume " + checkpoint.dir.string() +
                   "), or start a new run under another [run] name; only training.steps, the "
                   "learning-rate schedule (training.schedule, warmup_steps, min_lr_ratio, "
                   "decay_fraction, optimizer.lr), training.eval_every, run.log_every, run.threads, "
                   "run.out_dir, [checkpoint], [sample] and [[eval]] may change on resume";
    throw ConfigError({problem});
  }
  if (!safe.empty()) spdlog::info("resuming with changed settings:{}", safe);
}

// The architecture's own checks (positions enough for seq_len, consistent options), made
// through its footprint before any work. The vocabulary is not known before the tokenizer is
// trained: the manifest's when it names one, else a stand-in (its checks run again when the
// model is built).
void check_architecture(const Manifest& manifest, const std::vector<ComponentSection>& sections,
                        const PluginHost& host, const TrainConfig& config) {
  FootprintQuery query;
  query.seq_len = config.seq_len;
  query.vocab_size = manifest.root().at_path("tokenizer.vocab_size").value_or(std::int64_t{256});
  architecture_footprint(sections, host, query);
}

// A schedule that decays over training.steps is stretched when a resume raises the steps: a
// finished cosine run would climb back from its final rate. Say so, with the ways to continue
// at the rate the run reached.
void warn_if_schedule_climbs(const LoadedCheckpoint& checkpoint, const Manifest& saved,
                             const Manifest& manifest, const TrainConfig& config) {
  const TrainConfig before = read_train_config(saved);
  const std::int64_t step = checkpoint.state.step;
  if (before.steps == config.steps || step == 0) return;
  const double base_before = saved.root().at_path("optimizer.lr").value_or(1.0);
  const double base_now = manifest.root().at_path("optimizer.lr").value_or(1.0);
  const double lr_before = LrSchedule(before.schedule).lr(std::min(step, before.steps) - 1, base_before);
  const double lr_now = LrSchedule(config.schedule).lr(step, base_now);
  if (!(lr_now > lr_before * 1.01)) return;
  spdlog::warn(
      "training.steps went from {} to {}: the {} schedule is a function of the total steps, so the "
      "learning rate at step {} climbs from {:.3g}, where the run left it, to {:.3g}. To go on at "
      "the rate it reached, continue with a constant phase (--set 'training.schedule=\"constant\"' "
      "--set optimizer.lr={:.3g}) or a new decay phase from it (--set 'training.schedule=\"wsd\"' "
      "--set optimizer.lr={:.3g}: the last decay_fraction of the steps decays)",
      before.steps, config.steps, manifest.root().at_path("training.schedule").value_or(std::string()),
      step, lr_before, lr_now, lr_before, lr_before);
}

void write_resolved_manifest(const Manifest& manifest, const fs::path& run_dir) {
  fs::create_directories(run_dir);
  std::ofstream out(run_dir / "manifest.toml");
  out << manifest_text(manifest);
  if (!out) throw Error("cannot write " + (run_dir / "manifest.toml").string());
}

std::string seconds_text(double seconds) { return format_duration(seconds) + fmt::format(" ({:.1f} s)", seconds); }

void print_summary(const TrainSummary& summary, std::ostream& out) {
  Table table({"", ""});
  table.add({"steps", format_count(static_cast<std::uint64_t>(summary.steps)) +
                          (summary.first_step ? fmt::format(" (resumed at {})", summary.first_step) : "") +
                          (summary.skipped_steps ? fmt::format(" ({} skipped)", summary.skipped_steps) : "")});
  // After a resume, totals are the whole run's and the rates this session's: say which is which.
  const bool resumed = summary.first_step > 0;
  const auto tokens = [](std::int64_t n) { return format_count(static_cast<std::uint64_t>(n)); };
  table.add({"tokens", resumed ? fmt::format("{} in all, {} in this session", tokens(summary.tokens),
                                             tokens(summary.session_tokens))
                               : tokens(summary.tokens)});
  table.add({"time", resumed ? seconds_text(summary.seconds) + " this session, " +
                                   format_duration(summary.total_seconds) + " in all"
                             : seconds_text(summary.seconds)});
  table.add({"throughput", format_count(static_cast<std::uint64_t>(summary.tokens_per_s)) + " tokens/s" +
                               (resumed ? " (this session)" : "")});
  if (summary.mfu >= 0) table.add({"MFU", fmt::format("{:.1f}%", 100 * summary.mfu)});
  if (summary.final_loss_to > 0)
    table.add({"train loss", fmt::format("{:.4f} (mean of steps {}-{})", summary.final_loss,
                                         summary.final_loss_from, summary.final_loss_to)});
  if (summary.last_step > 0 && summary.last_step != summary.final_loss_to)
    table.add({"last step loss", fmt::format("{:.4f} (step {})", summary.last_step_loss, summary.last_step)});
  for (const Metric& m : summary.eval)
    if (!is_token_count(m.name))
      table.add({"valid " + m.name.substr(m.name.find('.') + 1), fmt::format("{:.4f}", m.value)});
  out << "\nsummary\n";
  table.print(out);
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
                 {"session_tokens", static_cast<double>(summary.session_tokens)},
                 {"train_seconds", summary.seconds},
                 {"total_train_seconds", summary.total_seconds},
                 {"last_step_loss", summary.last_step_loss},
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
  const Sample sample = generate(*run.model, *run.tokenizer, config.sample, seed, env.device, {},
                                 /*use_cache=*/true, run.identities);
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
       "prepare the dataset again even if it is up to date")
      ("resume", po::value<std::string>()->implicit_value("")->value_name("PATH"),
       "continue from a checkpoint: a checkpoint folder, or a run folder's newest valid one "
       "(without PATH: the manifest's run folder); without a manifest, the checkpoint's is used")
      ("restart", po::bool_switch(&args.restart),
       "delete the run folder's checkpoints and start over")
      ("stop-at-step", po::value(&args.stop_at_step)->value_name("N"),
       "save a checkpoint after step N and stop (to split a run into jobs)");
  add_common_options(description, args.common);
  po::positional_options_description positional;
  positional.add("manifest", 1);
  po::variables_map values;
  if (!parse_command_line(argv, "anvil train <manifest.toml> [--set KEY=VALUE]... [--resume [PATH]]",
                          description, positional, values, args.common))
    return 0;
  if (values.count("resume")) args.resume = values["resume"].as<std::string>();
  if (args.resume && args.restart) throw po::error("--resume and --restart exclude each other");
  if (args.stop_at_step < 0) throw po::error("--stop-at-step must be positive");

  // Without a manifest, the one saved with the checkpoint --resume names.
  if (args.manifest.empty() && (!args.resume || args.resume->empty()))
    throw po::error("anvil train needs a manifest: anvil train run.toml (or --resume runs/NAME)");
  std::optional<fs::path> named_checkpoint;  // resolved (and verified) once
  if (args.resume && !args.resume->empty()) named_checkpoint = resolve_checkpoint(*args.resume, warn);
  const fs::path manifest_path = args.manifest.empty() ? *named_checkpoint / kManifestFile : fs::path(args.manifest);
  OpenRun opened = open_run(manifest_path, args.sets, args.common.plugin_paths);
  Manifest& manifest = opened.manifest;
  const std::vector<ComponentSection>& sections = opened.sections;
  Run run;
  run.host = std::move(opened.host);
  make_paths_absolute(manifest.root());
  const TrainConfig config = read_train_config(manifest);
  check_architecture(manifest, sections, *run.host, config);
  check_output_folders(manifest, config);

  // Where to start: a checkpoint, checked against this manifest, or from scratch.
  const fs::path checkpoints_dir = config.run_dir / kCheckpointsDir;
  if (args.restart && fs::exists(checkpoints_dir)) {
    spdlog::info("--restart: deleting {}", checkpoints_dir.string());
    fs::remove_all(checkpoints_dir);
  }
  std::optional<LoadedCheckpoint> checkpoint;
  if (const std::optional<fs::path> from = resume_point(args, named_checkpoint, config)) {
    checkpoint = read_verified_checkpoint(*from);
    check_checkpoint_data_format(*checkpoint);
    const Manifest saved = saved_manifest(*checkpoint);
    check_resume_manifest(*checkpoint, saved, manifest);
    // Decided before anything is prepared, measured or recorded.
    if (checkpoint->state.step >= config.steps) {
      std::cout << fmt::format("the run is already trained to step {} (training.steps = {}); raise "
                               "training.steps to continue it\n", checkpoint->state.step, config.steps);
      return 0;
    }
    warn_if_schedule_climbs(*checkpoint, saved, manifest, config);
  }

  // Data: prepared (and the tokenizer trained) when missing or out of date.
  const toml::table* tokenizer_section = manifest.root()["tokenizer"].as_table();
  const fs::path dataset_dir =
      prepare_data(manifest, *run.host, tokenizer_section, "", args.force_prepare, std::cout);
  const Dataset dataset = Dataset::open(dataset_dir);
  check_dataset_fits_run(dataset.info(), dataset_dir, *tokenizer_section, config.seq_len,
                         manifest.path().string());
  open_tokenizer_folder(run, dataset_dir / kDatasetTokenizerDir);

  // Where and how to compute.
  TrainEnvironment env;
  env.device = resolve_device(config.device);
  configure_runtime(config.threads, config.deterministic, config.seed);
  env.precision = resolve_precision(config.precision, env.device);
  env.peak_flops = measure_matmul_peak(env.device, compute_dtype(env.precision));
  write_resolved_manifest(manifest, config.run_dir);
  run.metrics = std::make_unique<MetricsFile>(config.run_dir / "metrics.jsonl", /*append=*/checkpoint.has_value());

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

  TrainPosition start;
  if (checkpoint) {
    start = restore_checkpoint(*checkpoint, *run.model, *run.optimizer, loader);
    run.metrics->write("resume", start.step, {}, {{"checkpoint", checkpoint->dir.string()}});
    std::cout << fmt::format("resuming from {} (step {} of {})\n", checkpoint->dir.string(), start.step,
                             config.steps);
    checkpoint.reset();  // its tensors are copied into the model and optimizer
  }

  TrainerParts parts{*run.model, *run.optimizer, objectives.losses, parameters,
                     objectives.evaluators, run.tokenizer.get(), loader,
                     validation ? &*validation : nullptr, bytes_per_token, run.metrics.get(),
                     run.identities.model, objectives.optimizer};
  print_header(config, *run.model, env, loader, std::cout);
  std::cout << "metrics: " << run.metrics->path().string() << "\n\n" << std::flush;

  TrainProgress progress;
  Checkpointer checkpointer(checkpoints_dir, {config.checkpoint.keep_last, config.checkpoint.keep_every},
                            config.checkpoint.async);
  CheckpointHook hook({*run.model, *run.optimizer, loader, manifest_text(manifest),
                       dataset_dir / kDatasetTokenizerDir, plugin_records(*run.host, sections)},
                      checkpointer, config.checkpoint, args.stop_at_step, progress, run.metrics.get());
  TrainSummary summary;
  {
    StopSignals signals;
    summary = train(parts, config, env, progress, start, &hook);
    checkpointer.wait();  // a checkpoint is saved only once it is on disk
  }
  print_summary(summary, std::cout);
  record_summary(*run.metrics, summary, *run.model, config, env);
  if (summary.stopped_early) {
    std::cout << fmt::format("\nstopped after step {} of {}{}; continue with: anvil train --resume {}\n",
                             summary.steps, config.steps,
                             hook.stopped_by_signal() ? fmt::format(" (signal {})", hook.stopped_by_signal()) : "",
                             config.run_dir.string());
    return 0;
  }
  if (const auto written = checkpointer.last_written())
    std::cout << "checkpoint: " << written->string() << "\n";
  if (!config.sample.prompt.empty()) print_sample(run, config, env, summary.steps);
  return 0;
}

}  // namespace anvil::core
