#pragma once
// What the trainer reads from a validated manifest ([run], [training], [sample]), as plain
// values, so the loop and its tests do not walk TOML.

#include "train/lr_schedule.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace anvil::core {

class Manifest;

enum class NonFinitePolicy { skip, stop };

struct SampleConfig {
  std::string prompt;  ///< empty: no sample
  std::int64_t max_new_tokens = 200;
  double temperature = 0.8;  ///< 0 = greedy
  std::int64_t top_k = 40;   ///< 0 = all tokens
  double top_p = 1.0;        ///< nucleus sampling mass; 1 = all tokens
  double repetition_penalty = 1.0;  ///< > 1 discourages repeating tokens; 1 = off
  std::vector<std::string> stop;    ///< generation ends before the first of these strings
  bool stop_at_end_of_text = true;  ///< generation ends at the tokenizer's end-of-text token
  std::uint64_t seed = 0;    ///< 0 = the run's seed
};

struct CheckpointConfig {
  std::int64_t every_steps = 0;  ///< 0: not by step count
  double every_minutes = 0;      ///< 0: not by time
  bool at_end = true;
  std::int64_t keep_last = 3;    ///< 0: keep all
  std::int64_t keep_every = 0;   ///< 0: none kept for their step
  bool async = false;
  bool resume_auto = true;       ///< resume = "auto"
};

struct TrainConfig {
  // [run]
  std::string name = "run";
  std::filesystem::path run_dir;  ///< <out_dir>/<name>: metrics.jsonl, resolved manifest
  std::uint64_t seed = 1234;
  std::string device = "auto";
  int threads = 0;
  std::int64_t log_every = 10;
  // [training]
  std::int64_t steps = 1000;
  std::int64_t seq_len = 256;
  std::int64_t micro_batch_size = 8;
  std::int64_t grad_accum_steps = 1;     ///< micro-batches per optimizer step (resolved)
  ScheduleOptions schedule;
  double grad_clip = 1.0;
  std::string precision = "auto";
  std::int64_t eval_every = 0;
  bool deterministic = false;
  NonFinitePolicy nonfinite = NonFinitePolicy::skip;
  std::int64_t max_skipped_steps = 10;
  std::vector<std::string> no_decay{"embed"};
  SampleConfig sample;
  CheckpointConfig checkpoint;
};

/// The trainer's settings of a manifest that validate_manifest accepted (defaults filled in),
/// for a job of `world` ranks. grad_accum_steps comes out resolved: when global_batch_tokens
/// is set, it is global_batch_tokens / (micro_batch_size * seq_len * world), and a remainder
/// is a ConfigError at that key.
TrainConfig read_train_config(const Manifest& manifest, int world = 1);

}  // namespace anvil::core
