#pragma once
/// @file lion_optimizer.h
/// The "lion" optimizer: Lion, EvoLved Sign Momentum (Chen et al., 2023, "Symbolic Discovery of
/// Optimization Algorithms"), with decoupled weight decay, applied per parameter group with
/// multi-tensor (at::_foreach_*) kernels. torch.optim has no Lion; the rule is the paper's, as
/// implemented by the widely used lion-pytorch.
///
/// For each parameter p with gradient g, at group learning rate lr = base_lr * lr_scale:
///   p = p * (1 - lr * wd)                                  (when wd != 0)
///   p = p - lr * sign(beta1 * m + (1 - beta1) * g)
///   m = beta2 * m + (1 - beta2) * g
/// m starts at zero on a parameter's first update. Every update has magnitude lr per element,
/// so Lion wants a learning rate 3-10x smaller than AdamW's (and a weight decay that much larger).
///
/// Weight decay rule: a group that sets ParamGroup::weight_decay uses that value (0 exempts it);
/// a group that leaves it unset uses the optimizer's `weight_decay` option.
///
/// State (GroupedOptimizer): "step", then "group{g}.param{i}.exp_avg" (m) for each parameter
/// updated at least once.

#include <anvil/optimizer_base.h>

#include <array>

namespace anvil::builtin {

/// Options of the lion optimizer (the manifest keys of the same names).
struct LionOptions {
  double lr = 1e-4;  ///< base learning rate (> 0)
  /// beta1 weighs m against g in the update's sign, beta2 is the decay of m; each in [0, 1).
  std::array<double, 2> betas = {0.9, 0.99};
  double weight_decay = 0.0;  ///< decoupled coefficient (>= 0) for groups that set none
};

/// The lion optimizer (see the file comment).
class LionOptimizer final : public GroupedOptimizer {
 public:
  /// Throws anvil::Error for values outside the ranges above.
  explicit LionOptimizer(LionOptions options);

 private:
  void update_group(GroupUpdate& update) override;
  LionOptions options_;
};

}  // namespace anvil::builtin
