#include "train/precision.h"

#include <algorithm>

namespace anvil::core {

std::optional<Precision> parse_precision(std::string_view name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  if (name == "fp16") return Precision::fp16;
  return std::nullopt;
}

const char* to_string(Precision precision) {
  switch (precision) {
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
  }
  return "?";
}

c10::ScalarType compute_dtype(Precision precision) {
  switch (precision) {
    case Precision::fp32: return c10::kFloat;
    case Precision::bf16: return c10::kBFloat16;
    case Precision::fp16: return c10::kHalf;
  }
  return c10::kFloat;
}

AutocastScope::AutocastScope(Precision precision, c10::Device device) {
  if (precision == Precision::fp32) return;
  // The guard enables autocast on the run's device type and leaves the other as it is.
  const AutocastState on{true, compute_dtype(precision)};
  const bool cuda = device.is_cuda();
  guard_.emplace(cuda ? autocast_state(false) : on, cuda ? on : autocast_state(true));
}

LossScaler::LossScaler(bool enabled, double initial_scale, std::int64_t growth_interval)
    : enabled_(enabled), scale_(enabled ? initial_scale : 1.0), growth_interval_(growth_interval) {}

void LossScaler::restore(double scale, std::int64_t good_steps) {
  if (!enabled_) return;
  scale_ = scale;
  good_steps_ = good_steps;
}

void LossScaler::update(bool overflow) {
  if (!enabled_) return;
  if (overflow) {
    scale_ = std::max(scale_ * 0.5, 1.0);
    good_steps_ = 0;
  } else if (++good_steps_ >= growth_interval_) {
    scale_ *= 2.0;
    good_steps_ = 0;
  }
}

}  // namespace anvil::core
