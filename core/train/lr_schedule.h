#pragma once
// The learning rate of every step, from [training]: a linear warm-up, then constant, linear,
// cosine or warm-up-stable-decay. A pure function of the step, so a resumed run continues the
// curve exactly and tests compare it with closed forms.

#include <cstdint>
#include <optional>
#include <string_view>

namespace anvil::core {

enum class ScheduleKind { constant, linear, cosine, wsd };

/// Parses "constant", "linear", "cosine" or "wsd"; nullopt for anything else.
std::optional<ScheduleKind> parse_schedule_kind(std::string_view name);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::cosine;
  std::int64_t steps = 1000;        ///< optimizer steps of the run
  std::int64_t warmup_steps = 0;
  double min_lr_ratio = 0.1;        ///< final lr of a decaying schedule / base lr
  double decay_fraction = 0.2;      ///< wsd: share of the post-warm-up steps spent decaying
};

/// Learning rates for steps 0 .. steps-1 (the index of the step about to be taken):
///
///   warm-up (s < W):  base * (s + 1) / W             (the first step is not wasted at lr 0)
///   afterwards, with progress p = (s - W) / max(1, steps - 1 - W), 0 at the first step after
///   warm-up and 1 at the last step, and r = min_lr_ratio:
///     constant   base
///     linear     base * (1 - (1 - r) * p)
///     cosine     base * (r + (1 - r) * (1 + cos(pi * p)) / 2)
///     wsd        base until the decay starts at D = steps - round(decay_fraction * (steps - W)),
///                then base * (1 - (1 - r) * (s - D + 1) / (steps - D)): down to base * r at the
///                last step
class LrSchedule {
 public:
  /// Throws anvil::Error for steps < 1, warmup_steps < 0 or >= steps (when steps > 1),
  /// min_lr_ratio or decay_fraction outside [0, 1].
  explicit LrSchedule(ScheduleOptions options);
  /// The learning rate of step `step` for a base rate `base_lr`. Steps past the end keep the
  /// final rate.
  double lr(std::int64_t step, double base_lr) const;
  const ScheduleOptions& options() const noexcept { return options_; }

 private:
  double decay_factor(std::int64_t step) const;  // in [min_lr_ratio, 1] after warm-up
  ScheduleOptions options_;
};

}  // namespace anvil::core
