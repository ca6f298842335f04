#pragma once
// What the trainer reads from a validated manifest ([run], [training], [sample]), as plain
// values, so the loop and its tests do not walk TOML.

#include "manifest/core_sections.h"
#include "train/lr_schedule.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace anvil::core {

class Manifest;

enum class NonFinitePolicy { skip, stop };

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
