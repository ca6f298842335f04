#pragma once
/// @file adam_optimizer.h
/// The "adam" and "adamw" optimizers: Adam (Kingma and Ba, 2015) with the update rules of
/// torch.optim.Adam (L2 weight decay, added to the gradient) and torch.optim.AdamW (decoupled
/// weight decay, Loshchilov and Hutter, 2019), including bias correction and AMSGrad, applied per
/// parameter group with multi-tensor (at::_foreach_*) kernels.
///
/// For each parameter p with gradient g, at group learning rate lr = base_lr * lr_scale, where t
/// counts the updates of p including this one (as in torch, a parameter without a gradient is
/// skipped and its t stays behind):
///   g = g + wd * p                         (adam, when wd != 0)
///   p = p * (1 - lr * wd)                  (adamw, when wd != 0)
///   m = beta1 * m + (1 - beta1) * g
///   v = beta2 * v + (1 - beta2) * g * g
///   v_max = max(v_max, v)                  (amsgrad; the next line then uses v_max for v)
///   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// m, v and v_max start at zero on a parameter's first update.
///
/// Weight decay rule: a group that sets ParamGroup::weight_decay uses that value (0 exempts it);
/// a group that leaves it unset uses the optimizer's `weight_decay` option.
///
/// State (GroupedOptimizer): "step", then for each parameter updated at least once,
/// "group{g}.param{i}." followed by "step" (0-dim int64: its t), "exp_avg" (m), "exp_avg_sq" (v)
/// and, with amsgrad, "max_exp_avg_sq" (v_max). A parameter's entries load all together or not
/// at all.

#include <anvil/optimizer_base.h>

#include <array>
#include <string>

namespace anvil::builtin {

/// Options of the adam and adamw optimizers (the manifest keys of the same names).
struct AdamOptions {
  double lr = 1e-3;                            ///< base learning rate (> 0)
  std::array<double, 2> betas = {0.9, 0.999};  ///< decay of m and v, each in [0, 1)
  double eps = 1e-8;                           ///< added to the denominator (>= 0)
  double weight_decay = 0.0;                   ///< coefficient (>= 0) for groups that set none
  bool amsgrad = false;                        ///< normalise by the running maximum of v
  /// true: decoupled weight decay ("adamw"); false: L2 added to the gradient ("adam").
  bool decoupled_weight_decay = false;
};

/// The adam and adamw optimizers (see the file comment); name() is "adamw" with decoupled
/// weight decay, else "adam".
class AdamOptimizer final : public GroupedOptimizer {
 public:
  /// Throws anvil::Error for values outside the ranges above.
  explicit AdamOptimizer(AdamOptions options);

 private:
  void update_group(GroupUpdate& update) override;
  std::string load_state_hint() const override;
  AdamOptions options_;
};

}  // namespace anvil::builtin
