#pragma once
/// @file sgd_optimizer.h
/// The "sgd" optimizer: stochastic gradient descent with momentum, dampening, Nesterov momentum
/// and L2 weight decay, with the update rule of torch.optim.SGD, applied per parameter group
/// with multi-tensor (at::_foreach_*) kernels.
///
/// For each parameter p with gradient g, at group learning rate lr = base_lr * lr_scale:
///   d = g + wd * p                                    (when wd != 0; L2, added to the gradient)
///   buf = d                       on its first update (no dampening, as in torch)
///   buf = momentum * buf + (1 - dampening) * d        afterwards   (when momentum != 0)
///   d = nesterov ? d + momentum * buf : buf                         (when momentum != 0)
///   p = p - lr * d
///
/// Weight decay rule: a group that sets ParamGroup::weight_decay uses that value (0 exempts it);
/// a group that leaves it unset uses the optimizer's `weight_decay` option.
///
/// State (GroupedOptimizer): "step", then "group{g}.param{i}.momentum_buffer" for each buffer
/// that exists (with momentum, from a parameter's first update on).

#include <anvil/optimizer_base.h>

namespace anvil::builtin {

/// Options of the sgd optimizer (the manifest keys of the same names).
struct SgdOptions {
  double lr = 0.01;           ///< base learning rate (> 0)
  double momentum = 0.0;      ///< momentum factor in [0, 1]
  double dampening = 0.0;     ///< dampening of the momentum in [0, 1]
  bool nesterov = false;      ///< Nesterov momentum; needs momentum > 0 and dampening = 0
  double weight_decay = 0.0;  ///< L2 coefficient (>= 0) for groups that set none
};

/// The sgd optimizer (see the file comment).
class SgdOptimizer final : public GroupedOptimizer {
 public:
  /// Throws anvil::Error for values outside the ranges above or an invalid Nesterov setting.
  explicit SgdOptimizer(SgdOptions options);

 private:
  void update_group(GroupUpdate& update) override;
  SgdOptions options_;
};

}  // namespace anvil::builtin
