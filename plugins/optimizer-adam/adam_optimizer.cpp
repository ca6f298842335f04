// The adam and adamw optimizers (see adam_optimizer.h for the rule).
#include "adam_optimizer.h"

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_addcdiv.h>
#include <ATen/ops/_foreach_addcmul.h>
#include <ATen/ops/_foreach_div.h>
#include <ATen/ops/_foreach_maximum.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_sqrt.h>

#include <cmath>
#include <vector>

namespace anvil::builtin {

namespace {
// The state fields, in state_dict order.
enum Field : std::size_t { kStep, kExpAvg, kExpAvgSq, kMaxExpAvgSq };
}  // namespace

AdamOptimizer::AdamOptimizer(AdamOptions options)
    : GroupedOptimizer(options.decoupled_weight_decay ? "adamw" : "adam", options.lr,
                       options.weight_decay,
                       {{"step", StateField::Kind::count},
                        {"exp_avg"},
                        {"exp_avg_sq"},
                        {"max_exp_avg_sq", StateField::Kind::tensor,
                         options.amsgrad ? "" : "belongs to amsgrad, which this optimizer does "
                                                "not use"}}),
      options_(options) {
  check_betas(options_.betas);
  check_option(options_.eps >= 0 && std::isfinite(options_.eps), "eps must be >= 0");
}

std::string AdamOptimizer::load_state_hint() const {
  return "load state saved by the same optimizer, with the same amsgrad setting, for the same "
         "parameter groups";
}

void AdamOptimizer::update_group(GroupUpdate& u) {
  const auto [beta1, beta2] = options_.betas;
  const double lr = u.lr;
  // The moments (zero on a first update) and bias corrections: each parameter counts its own
  // updates.
  std::vector<at::Tensor> exp_avgs = u.states_or_zeros(kExpAvg);
  std::vector<at::Tensor> exp_avg_sqs = u.states_or_zeros(kExpAvgSq);
  std::vector<at::Tensor> max_exp_avg_sqs;
  if (options_.amsgrad) max_exp_avg_sqs = u.states_or_zeros(kMaxExpAvgSq);
  std::vector<at::Scalar> step_sizes, bias_correction2_sqrts;
  for (std::size_t k = 0; k < u.size(); ++k) {
    const double t = static_cast<double>(++u.count(kStep, k));
    step_sizes.emplace_back(-(lr / (1 - std::pow(beta1, t))));
    bias_correction2_sqrts.emplace_back(std::sqrt(1 - std::pow(beta2, t)));
  }

  // The same operations, in the same order, as torch's multi-tensor Adam, so that results
  // agree to the last bit, not merely to rounding (they do with LibTorch 1.13 on the CPU).
  std::vector<at::Tensor> grads = u.grads;
  if (u.weight_decay != 0) {
    if (options_.decoupled_weight_decay)
      at::_foreach_mul_(u.params, 1 - lr * u.weight_decay);
    else  // into new tensors: the .grad() tensors are left untouched
      grads = at::_foreach_add(grads, u.params, u.weight_decay);
  }
  at::_foreach_mul_(exp_avgs, beta1);
  at::_foreach_add_(exp_avgs, grads, 1 - beta1);
  at::_foreach_mul_(exp_avg_sqs, beta2);
  at::_foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2);
  if (options_.amsgrad) at::_foreach_maximum_(max_exp_avg_sqs, exp_avg_sqs);
  std::vector<at::Tensor> denom =
      at::_foreach_sqrt(options_.amsgrad ? max_exp_avg_sqs : exp_avg_sqs);
  at::_foreach_div_(denom, bias_correction2_sqrts);
  at::_foreach_add_(denom, options_.eps);
  at::_foreach_addcdiv_(u.params, exp_avgs, denom, step_sizes);
}

}  // namespace anvil::builtin
