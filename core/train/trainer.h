#pragma once
// The training loop: for each step, its micro-batches from the loader, the learning rate
// from the schedule, one StepRunner step; metrics every log_every steps (progress line and
// metrics.jsonl), evaluation every eval_every steps and at the end, and the non-finite policy.

#include "data/token_loader.h"
#include "metrics/metrics_file.h"
#include "metrics/train_progress.h"
#include "train/step_runner.h"
#include "train/train_config.h"

#include <anvil/evaluator.h>
#include <anvil/tokenizer.h>

#include <string>
#include <utility>
#include <vector>

namespace anvil::core {

/// One [[eval]] entry: the name its metrics are shown under, its component, and who its errors
/// name.
struct EvaluatorTerm {
  std::string name;
  Evaluator* evaluator = nullptr;
  ComponentIdentity identity{ComponentKind::evaluator};
};

struct TrainerParts {
  Model& model;
  Optimizer& optimizer;
  std::vector<LossTerm> losses;
  std::vector<at::Tensor> parameters;  ///< every parameter the optimizer updates
  std::vector<EvaluatorTerm> evaluators;
  const Tokenizer* tokenizer = nullptr;
  TrainLoader& loader;
  ValidationBatches* validation = nullptr;  ///< null: no evaluation
  double bytes_per_token = 0;  ///< of the validation split's text (bits per byte)
  MetricsFile* metrics = nullptr;  ///< null: no metrics file
  ComponentIdentity model_identity{ComponentKind::architecture};  ///< who the model's errors name
  ComponentIdentity optimizer_identity{ComponentKind::optimizer};
};

struct TrainEnvironment {
  c10::Device device = c10::Device(c10::kCPU);
  Precision precision = Precision::fp32;
  double peak_flops = 0;  ///< measured FLOP/s of the device at `precision`; 0 = unknown (no MFU)
};

/// Where a run stands between two steps: the counters a checkpoint stores beside its tensors,
/// and where a resumed run starts.
struct TrainPosition {
  std::int64_t step = 0;           ///< optimizer steps completed
  std::int64_t tokens = 0;         ///< training tokens consumed
  std::int64_t skipped_steps = 0;
  double train_seconds = 0;        ///< training time so far, over every resumed part
  double loss_scale = 65536.0;     ///< fp16 loss scaler state (ignored for other precisions)
  std::int64_t loss_scale_good_steps = 0;
};

/// Called after every step, once its metrics are logged and its evaluation (if due) is done:
/// where checkpoints are saved. Returns true to end training after this step.
class StepHook {
 public:
  virtual ~StepHook() = default;
  /// `last`: the final step of the run.
  virtual bool after_step(const TrainPosition& position, bool last) = 0;
};

struct TrainSummary {
  std::int64_t first_step = 0;  ///< the step training started from (> 0 after a resume)
  std::int64_t steps = 0;       ///< steps completed, counting those before a resume
  bool stopped_early = false;   ///< a hook ended training before the last step
  std::int64_t skipped_steps = 0;
  std::int64_t tokens = 0;   ///< training tokens, counting those before a resume
  std::int64_t session_tokens = 0;  ///< training tokens of this part
  double seconds = 0;        ///< wall time of this part
  double total_seconds = 0;  ///< training time of the whole run, parts before a resume included
  double tokens_per_s = 0;   ///< of this part, after its first step (one-time warm-up)
  double mfu = -1;           ///< < 0 when the peak is unknown
  double final_loss = 0;     ///< mean training loss of the last log interval...
  std::int64_t final_loss_from = 0, final_loss_to = 0;  ///< ...over these steps (1-based)
  double last_step_loss = 0;      ///< the loss of the last step that updated the weights...
  std::int64_t last_step = 0;     ///< ...and its number (0: none did)
  Metrics eval;              ///< the last evaluation ("perplexity.loss", ...)
};

/// Trains from step `start.step` to config.steps (the loader, model and optimizer already where
/// `start` says), calling `hook` after every step. Throws anvil::Error when the non-finite
/// policy stops the run.
TrainSummary train(TrainerParts& parts, const TrainConfig& config, const TrainEnvironment& env,
                   TrainProgress& progress, const TrainPosition& start = {}, StepHook* hook = nullptr);

/// Runs every evaluator on the validation data (model in eval mode, no gradients, autocast);
/// metrics are named "<evaluator>.<metric>".
Metrics evaluate(TrainerParts& parts, const TrainEnvironment& env);

/// ", on 204,800 of 1,234,567 validation tokens" when an evaluator's token count ("*.tokens")
/// says it scored a subset of the validation split; "" when every evaluator scored all of it.
std::string eval_coverage(const Metrics& metrics, const ValidationBatches& validation);

/// True for an evaluator's count of tokens ("tokens", "perplexity.tokens"): a size, not a score,
/// left out of summaries.
bool is_token_count(const std::string& name);

/// "loss 5.0123, perplexity 150.3, bits_per_byte 2.034" for the metrics named
/// "<evaluator>.<metric>" (the evaluator is dropped from the name when there is only one).
std::string describe_eval(const Metrics& metrics);

}  // namespace anvil::core
