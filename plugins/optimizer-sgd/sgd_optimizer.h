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

#include <anvil/optimizer.h>

#include <cstdint>
#include <vector>

namespace anvil::builtin {

/// Options of the sgd optimizer (the manifest keys of the same names).
struct SgdOptions {
  double lr = 0.01;           ///< base learning rate (> 0)
  double momentum = 0.0;      ///< momentum factor in [0, 1]
  double dampening = 0.0;     ///< dampening of the momentum in [0, 1]
  bool nesterov = false;      ///< Nesterov momentum; needs momentum > 0 and dampening = 0
  double weight_decay = 0.0;  ///< L2 coefficient (>= 0) for groups that set none
};

class SgdOptimizer final : public Optimizer {
 public:
  /// Throws anvil::Error for values outside the ranges above or an invalid Nesterov setting.
  explicit SgdOptimizer(SgdOptions options);

  /// Appends groups (may be called more than once; state names use the overall group index).
  void add_param_groups(std::vector<ParamGroup> groups) override;
  void step() override;
  void zero_grad() override;
  /// Accepts any finite lr >= 0 (schedules start warm-up at 0).
  void set_lr(double lr) override;
  double lr() const override { return options_.lr; }
  /// "step" (0-dim int64: number of step() calls), then
  /// "group{g}.param{i}.momentum_buffer" for each buffer that exists. The buffers are the live
  /// state (not copies).
  StateDict state_dict() const override;
  /// All-or-nothing: on any unknown, duplicate or mis-shaped entry (or a missing "step") it
  /// throws anvil::Error naming the entry and leaves the state unchanged. Buffers absent from
  /// `state` are cleared.
  void load_state_dict(const StateDict& state) override;

  /// Number of step() calls so far.
  std::int64_t steps() const noexcept { return step_; }
  /// The weight decay `group` is updated with (see the rule in the file comment).
  double weight_decay_for(const ParamGroup& group) const noexcept {
    return group.weight_decay.value_or(options_.weight_decay);
  }
  const SgdOptions& options() const noexcept { return options_; }

 private:
  struct Group {
    ParamGroup group;
    std::vector<at::Tensor> momentum_buffers;  // one per param; undefined until first update
  };
  SgdOptions options_;
  std::vector<Group> groups_;
  std::int64_t step_ = 0;
};

}  // namespace anvil::builtin
