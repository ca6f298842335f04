#pragma once
/// @file cross_entropy_loss.h
/// The "cross-entropy" loss: next-token cross-entropy with optional label smoothing and z-loss.
///
/// Over the N counted positions (target != ignore_index), with logits x and target y:
///   ce     = (1/N) * sum_n [ (1 - s) * -log p(y_n) + s * mean_v(-log p(v)) ]   (s =
///   label_smoothing) z_loss = w * (1/N) * sum_n logsumexp(x_n)^2                               (w
///   = z_loss option) loss   = ce + z_loss
/// This is torch's cross_entropy with label smoothing and mean reduction, divided by the
/// counted positions (a batch with none counted gives 0, not NaN). Half and bfloat16 logits are
/// upcast to float32 first. Metrics: "ce", and "z_loss" (the weighted term) when enabled.

#include <anvil/loss.h>

#include <cstdint>

namespace anvil::builtin {

/// Options of the cross-entropy loss (the manifest keys of the same names).
struct CrossEntropyOptions {
  std::int64_t ignore_index = -100;  ///< target value of positions that do not count
  double label_smoothing = 0.0;      ///< in [0, 1]
  double z_loss = 0.0;               ///< weight of the z-loss term (>= 0; 0 disables it)
};

class CrossEntropyLoss final : public Loss {
 public:
  /// Throws anvil::Error when label_smoothing or z_loss is out of range.
  explicit CrossEntropyLoss(CrossEntropyOptions options);
  /// @param output.logits [B, T, V]. @param batch.target [B, T] int64.
  LossOutput compute(const ModelOutput& output, const Batch& batch) override;
  const CrossEntropyOptions& options() const noexcept { return options_; }

 private:
  CrossEntropyOptions options_;
};

}  // namespace anvil::builtin
