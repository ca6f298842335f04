#pragma once
// The components of a run built from their manifest sections, shared by `anvil train` and the
// commands that load a trained model from a checkpoint (generate, export).

#include "checkpoint/checkpoint_state.h"
#include "log/logging.h"
#include "manifest/validate.h"
#include "metrics/metrics_file.h"
#include "plugin/plugin_host.h"
#include "train/precision.h"
#include "train/sampler.h"
#include "train/step_runner.h"
#include "train/trainer.h"

#include <anvil/context.h>
#include <anvil/evaluator.h>
#include <anvil/footprint.h>
#include <anvil/loss.h>
#include <anvil/model.h>
#include <anvil/optimizer.h>
#include <anvil/options.h>
#include <anvil/tokenizer.h>

#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace anvil::core {

/// Components and what they need, declared in destruction order: components go before the
/// loggers and metrics file they write to, and before the plugin host that holds their code.
struct Run {
  std::unique_ptr<PluginHost> host;
  std::vector<std::unique_ptr<Logger>> loggers;
  std::unique_ptr<MetricsFile> metrics;
  std::shared_ptr<Tokenizer> tokenizer;
  std::shared_ptr<Model> model;
  std::shared_ptr<Optimizer> optimizer;
  std::vector<std::shared_ptr<Loss>> losses;
  std::vector<std::shared_ptr<Evaluator>> evaluators;
  /// Who the model's and the tokenizer's errors name (set where they are made).
  GenerationComponents identities;
};

/// The component a section selects, with a logger named "<kind>/<plugin>".
template <typename T>
std::shared_ptr<T> create(Run& run, const ComponentSection& section, RunContext context) {
  Diagnostics diagnostics;
  Options options(*section.table, section.key_path, diagnostics);
  run.loggers.push_back(make_logger(std::string(to_string(section.kind)) + "/" + section.plugin));
  context.logger = run.loggers.back().get();
  return run.host->create<T>(section.plugin, options, context);
}

/// Loads run.tokenizer from a trained tokenizer folder (a dataset's or a checkpoint's copy).
void open_tokenizer_folder(Run& run, const std::filesystem::path& dir);

struct Objectives {
  std::vector<LossTerm> losses;
  std::vector<EvaluatorTerm> evaluators;
  ComponentIdentity optimizer{ComponentKind::optimizer};  ///< (the model's: Run::identities)
};

/// A component, as error messages name it (kind, name, library).
ComponentIdentity identity_of(const PluginHost& host, ComponentKind kind, const std::string& name);
/// The component a section selects, as error messages name it.
ComponentIdentity identity_of(const PluginHost& host, const ComponentSection& section);

/// Model, optimizer, losses and evaluators from their sections, in manifest order.
Objectives create_components(Run& run, const std::vector<ComponentSection>& sections,
                             const RunContext& context);

/// The section of the [model] (architecture); throws when there is none.
const ComponentSection& architecture_section(const std::vector<ComponentSection>& sections);

/// The architecture's memory footprint for `query`, computed from its options without building
/// it; this also runs the architecture's option checks, which are thrown as one ConfigError at
/// their keys. nullopt when the architecture registers no footprint.
std::optional<ModelFootprint> architecture_footprint(const std::vector<ComponentSection>& sections,
                                                     const PluginHost& host, const FootprintQuery& query);

/// The components of `sections` and the libraries that provide them (for checkpoints).
std::vector<PluginRecord> plugin_records(const PluginHost& host,
                                         const std::vector<ComponentSection>& sections);

/// The precision a run computes in: [training] precision ("auto", "fp32", "bf16", "fp16"),
/// with auto resolved for `device` (bf16 where it multiplies bf16 fast, else fp32).
Precision resolve_precision(const std::string& name, c10::Device device);

}  // namespace anvil::core
