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

struct TrainerParts {
  Model& model;
  Optimizer& optimizer;
  std::vector<LossTerm> losses;
  std::vector<at::Tensor> parameters;  ///< every parameter the optimizer updates
  std::vector<std::pair<std::string, Evaluator*>> evaluators;  ///< [[eval]] name, component
  const Tokenizer* tokenizer = nullptr;
  TrainLoader& loader;
  ValidationBatches* validation = nullptr;  ///< null: no evaluation
  double bytes_per_token = 0;  ///< of the validation split's text (bits per byte)
  MetricsFile* metrics = nullptr;  ///< null: no metrics file
};

struct TrainEnvironment {
  c10::Device device = c10::Device(c10::kCPU);
  Precision precision = Precision::fp32;
  double peak_flops = 0;  ///< measured FLOP/s of the device at `precision`; 0 = unknown (no MFU)
};

struct TrainSummary {
  std::int64_t steps = 0;
  std::int64_t skipped_steps = 0;
  std::int64_t tokens = 0;
  double seconds = 0;
  double tokens_per_s = 0;   ///< after the first step (which includes one-time warm-up)
  double mfu = -1;           ///< < 0 when the peak is unknown
  double final_loss = 0;     ///< mean training loss of the last log interval
  Metrics eval;              ///< the last evaluation ("perplexity.loss", ...)
};

/// Trains for config.steps steps. Throws anvil::Error when the non-finite policy stops the run.
TrainSummary train(TrainerParts& parts, const TrainConfig& config, const TrainEnvironment& env,
                   TrainProgress& progress);

/// Runs every evaluator on the validation data (model in eval mode, no gradients, autocast);
/// metrics are named "<evaluator>.<metric>".
Metrics evaluate(TrainerParts& parts, const TrainEnvironment& env);

/// True for an evaluator's count of tokens ("tokens", "perplexity.tokens"): a size, not a score,
/// left out of summaries.
bool is_token_count(const std::string& name);

/// "loss 5.0123, perplexity 150.3, bits_per_byte 2.034" for the metrics named
/// "<evaluator>.<metric>" (the evaluator is dropped from the name when there is only one).
std::string describe_eval(const Metrics& metrics);

}  // namespace anvil::core
