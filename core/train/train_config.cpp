#include "train/train_config.h"

#include "manifest/manifest.h"

#include <anvil/errors.h>

#include <algorithm>

namespace anvil::core {
namespace {

ConfigError problem_at(const Manifest& manifest, std::string_view path, std::string message,
                       std::string hint) {
  return ConfigError({manifest.problem_at(path, std::move(message), std::move(hint))});
}

}  // namespace

TrainConfig read_train_config(const Manifest& manifest, int world) {
  const toml::table& root = manifest.root();
  TrainConfig c;
  c.name = validated_value<std::string>(root, "run.name");
  c.run_dir = Manifest::resolve_path(*root.at_path("run.out_dir").node()) / c.name;
  c.seed = static_cast<std::uint64_t>(validated_value<std::int64_t>(root, "run.seed"));
  c.device = validated_value<std::string>(root, "run.device");
  c.threads = static_cast<int>(validated_value<std::int64_t>(root, "run.threads"));
  c.log_every = validated_value<std::int64_t>(root, "run.log_every");

  c.steps = validated_value<std::int64_t>(root, "training.steps");
  c.seq_len = validated_value<std::int64_t>(root, "training.seq_len");
  c.micro_batch_size = validated_value<std::int64_t>(root, "training.micro_batch_size");
  c.grad_accum_steps = validated_value<std::int64_t>(root, "training.grad_accum_steps");
  const auto global_tokens = validated_value<std::int64_t>(root, "training.global_batch_tokens");
  if (global_tokens > 0) {
    const std::int64_t per_micro = c.micro_batch_size * c.seq_len * world;
    if (global_tokens % per_micro != 0)
      throw problem_at(manifest, "training.global_batch_tokens",
                       std::to_string(global_tokens) +
                           " is not a multiple of micro_batch_size * seq_len * ranks = " +
                           std::to_string(per_micro),
                       "use a multiple of " + std::to_string(per_micro) + ", e.g. " +
                           std::to_string(std::max<std::int64_t>(1, global_tokens / per_micro) * per_micro));
    c.grad_accum_steps = global_tokens / per_micro;
  }
  c.schedule.kind = *parse_schedule_kind(validated_value<std::string>(root, "training.schedule"));
  c.schedule.steps = c.steps;
  c.schedule.warmup_steps = validated_value<std::int64_t>(root, "training.warmup_steps");
  c.schedule.min_lr_ratio = validated_value<double>(root, "training.min_lr_ratio");
  c.schedule.decay_fraction = validated_value<double>(root, "training.decay_fraction");
  if (c.steps > 1 && c.schedule.warmup_steps >= c.steps)
    throw problem_at(manifest, "training.warmup_steps",
                     "warmup_steps = " + std::to_string(c.schedule.warmup_steps) +
                         " leaves no step after warm-up in a run of " + std::to_string(c.steps) + " steps",
                     "lower warmup_steps below training.steps (" + std::to_string(c.steps) + ")");
  c.grad_clip = validated_value<double>(root, "training.grad_clip");
  c.precision = validated_value<std::string>(root, "training.precision");
  c.eval_every = validated_value<std::int64_t>(root, "training.eval_every");
  c.deterministic = validated_value<bool>(root, "training.deterministic");
  c.nonfinite = validated_value<std::string>(root, "training.nonfinite") == "stop"
                    ? NonFinitePolicy::stop
                    : NonFinitePolicy::skip;
  c.max_skipped_steps = validated_value<std::int64_t>(root, "training.max_skipped_steps");
  c.no_decay.clear();
  if (const toml::array* names = root.at_path("training.no_decay").as_array())
    for (const toml::node& name : *names) c.no_decay.push_back(name.value_or(std::string()));

  // [sample] and [checkpoint] through the bindings that declared them (core_sections.h).
  c.sample = read_validated_section(sample_binding(), root, "sample");
  c.checkpoint = read_validated_section(checkpoint_binding(), root, "checkpoint");
  LrSchedule{c.schedule};  // its consistency checks, before any work is done
  return c;
}

}  // namespace anvil::core
