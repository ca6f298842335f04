#pragma once
/// @file loss.h
/// Interface of loss components (kind "loss").

#include <anvil/component.h>
#include <anvil/export.h>
#include <anvil/metrics.h>
#include <anvil/tensor_types.h>

namespace anvil {

/// A loss value and the metrics that explain it.
struct LossOutput {
  at::Tensor loss;  ///< scalar; backward() is called on it (after weighting)
  Metrics metrics;  ///< e.g. {"z_loss", 0.01}; values are detached
};

/// Computes the training objective from a model's output and the batch.
class ANVIL_SDK_API Loss : public Component {
 public:
  /// The kind this interface is registered as (Registry::add<T>).
  static constexpr ComponentKind kKind = ComponentKind::loss;

  /// The loss of `output` on `batch` (mean over counted target positions).
  virtual LossOutput compute(const ModelOutput& output, const Batch& batch) = 0;
};

}  // namespace anvil
