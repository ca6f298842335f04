#include "train/lr_schedule.h"

#include <anvil/errors.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace anvil::core {
namespace {
constexpr double kPi = 3.14159265358979323846;
}

std::optional<ScheduleKind> parse_schedule_kind(std::string_view name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "linear") return ScheduleKind::linear;
  if (name == "cosine") return ScheduleKind::cosine;
  if (name == "wsd") return ScheduleKind::wsd;
  return std::nullopt;
}

LrSchedule::LrSchedule(ScheduleOptions options) : options_(options) {
  if (options.steps < 1) throw Error("the schedule needs at least 1 step, got " + std::to_string(options.steps));
  if (options.warmup_steps < 0 || (options.steps > 1 && options.warmup_steps >= options.steps))
    throw Error("warmup_steps = " + std::to_string(options.warmup_steps) +
                    " leaves no step after warm-up in a run of " + std::to_string(options.steps) + " steps",
                "lower [training] warmup_steps below steps");
  if (!(options.min_lr_ratio >= 0 && options.min_lr_ratio <= 1))
    throw Error("min_lr_ratio must be in [0, 1], got " + std::to_string(options.min_lr_ratio));
  if (!(options.decay_fraction >= 0 && options.decay_fraction <= 1))
    throw Error("decay_fraction must be in [0, 1], got " + std::to_string(options.decay_fraction));
}

double LrSchedule::decay_factor(std::int64_t step) const {
  const ScheduleOptions& o = options_;
  const double r = o.min_lr_ratio;
  const std::int64_t last = o.steps - 1;
  const auto progress = [&](std::int64_t from) {
    return std::clamp(static_cast<double>(step - from) /
                          static_cast<double>(std::max<std::int64_t>(1, last - from)),
                      0.0, 1.0);
  };
  switch (o.kind) {
    case ScheduleKind::constant:
      return 1.0;
    case ScheduleKind::linear:
      return 1.0 - (1.0 - r) * progress(o.warmup_steps);
    case ScheduleKind::cosine:
      return r + (1.0 - r) * 0.5 * (1.0 + std::cos(kPi * progress(o.warmup_steps)));
    case ScheduleKind::wsd: {
      const auto decay_steps = static_cast<std::int64_t>(
          std::llround(o.decay_fraction * static_cast<double>(o.steps - o.warmup_steps)));
      const std::int64_t decay_start = o.steps - decay_steps;
      if (decay_steps == 0 || step < decay_start) return 1.0;
      // The first decay step already decays, so that even a one-step decay ends at min_lr.
      const double p = std::min(1.0, static_cast<double>(step - decay_start + 1) /
                                         static_cast<double>(decay_steps));
      return 1.0 - (1.0 - r) * p;
    }
  }
  return 1.0;
}

double LrSchedule::lr(std::int64_t step, double base_lr) const {
  if (step < options_.warmup_steps)
    return base_lr * static_cast<double>(step + 1) / static_cast<double>(options_.warmup_steps);
  return base_lr * decay_factor(step);
}

}  // namespace anvil::core
