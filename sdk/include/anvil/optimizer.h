#pragma once
/// @file optimizer.h
/// Interface of optimizer components (kind "optimizer").

#include <anvil/component.h>
#include <anvil/export.h>
#include <anvil/tensor_types.h>

#include <optional>
#include <string>
#include <vector>

namespace anvil {

/// Parameters updated with the same hyper-parameters. Under ZeRO these are flat shards.
struct ParamGroup {
  std::string name;               ///< "decay", "no_decay", ... (shown in logs)
  std::vector<at::Tensor> params; ///< leaf tensors whose .grad() holds the gradient
  /// This group's weight decay; when unset, the optimizer's own `weight_decay` option applies.
  /// Set it to 0 to exempt a group (norms, biases, embeddings) from decay.
  std::optional<double> weight_decay = std::nullopt;
  double lr_scale = 1.0;          ///< multiplies the scheduled learning rate
};

/// Updates parameters from their gradients.
class ANVIL_SDK_API Optimizer : public Component {
 public:
  /// The kind this interface is registered as (Registry::add<T>).
  static constexpr ComponentKind kKind = ComponentKind::optimizer;

  /// Hands the optimizer the parameters it owns. Called once, before the first step.
  virtual void add_param_groups(std::vector<ParamGroup> groups) = 0;
  /// Applies one update using each parameter's .grad() (parameters without grad are skipped).
  virtual void step() = 0;
  /// Clears gradients (sets them undefined).
  virtual void zero_grad() = 0;
  /// Sets the base learning rate (the scheduler calls this before every step).
  virtual void set_lr(double lr) = 0;
  /// The current base learning rate.
  virtual double lr() const = 0;
  /// Every state tensor (moments, step counters) under stable names, for checkpoints.
  virtual StateDict state_dict() const = 0;
  /// Restores state produced by state_dict() for the same parameter groups.
  /// Throws anvil::Error naming the first missing or mismatched entry.
  virtual void load_state_dict(const StateDict& state) = 0;
};

}  // namespace anvil
