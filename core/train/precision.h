#pragma once
// Mixed precision: the compute dtype of forward and backward (autocast over fp32 master
// weights) and dynamic loss scaling for fp16, whose narrow range underflows small gradients.

#include <anvil/torch_compat.h>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace anvil::core {

enum class Precision { fp32, bf16, fp16 };

/// "fp32", "bf16" or "fp16" (not "auto", which the caller resolves for its device first).
std::optional<Precision> parse_precision(std::string_view name);
const char* to_string(Precision precision);
/// The dtype autocast computes in: float, bfloat16 or half.
c10::ScalarType compute_dtype(Precision precision);

/// Autocasts eligible ops (matmuls, attention) on `device` to the precision's dtype for its
/// lifetime; does nothing for fp32. Not nestable with a different precision.
class AutocastScope {
 public:
  AutocastScope(Precision precision, c10::Device device);

 private:
  // Leaving the outermost one drops autocast's cached low-precision copies of the weights,
  // which are stale after the optimizer step.
  std::optional<AutocastGuard> guard_;
};

/// Dynamic loss scaling (as torch.cuda.amp.GradScaler): the loss is multiplied by scale()
/// before backward and the gradients divided by it after. A step whose gradients overflow is
/// skipped and halves the scale; `growth_interval` good steps in a row double it.
class LossScaler {
 public:
  /// Disabled (scale 1, never changes) unless `enabled`.
  explicit LossScaler(bool enabled, double initial_scale = 65536.0,
                      std::int64_t growth_interval = 2000);
  double scale() const noexcept { return scale_; }
  bool enabled() const noexcept { return enabled_; }
  /// Records the outcome of a step: `overflow` when its gradients were not finite.
  void update(bool overflow);
  /// Good steps since the scale last changed (saved in checkpoints with scale()).
  std::int64_t good_steps() const noexcept { return good_steps_; }
  /// Continues from a checkpoint's scale and good-step count (ignored when disabled).
  void restore(double scale, std::int64_t good_steps);

 private:
  bool enabled_;
  double scale_;
  std::int64_t growth_interval_;
  std::int64_t good_steps_ = 0;
};

}  // namespace anvil::core
