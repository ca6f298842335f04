// The lion optimizer (see lion_optimizer.h for the rule).
#include "lion_optimizer.h"

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_mul.h>

#include <vector>

namespace anvil::builtin {

namespace {
constexpr std::size_t kExpAvg = 0;  // the one state field: m
}  // namespace

LionOptimizer::LionOptimizer(LionOptions options)
    : GroupedOptimizer("lion", options.lr, options.weight_decay, {{"exp_avg"}}),
      options_(options) {
  check_betas(options_.betas);
}

void LionOptimizer::update_group(GroupUpdate& u) {
  const auto [beta1, beta2] = options_.betas;
  std::vector<at::Tensor> exp_avgs = u.states_or_zeros(kExpAvg);
  if (u.weight_decay != 0) at::_foreach_mul_(u.params, 1 - u.lr * u.weight_decay);
  std::vector<at::Tensor> update = at::_foreach_mul(exp_avgs, beta1);
  at::_foreach_add_(update, u.grads, 1 - beta1);
  // LibTorch 1.13 has no _foreach_sign_: one sign_ kernel per tensor.
  for (at::Tensor& x : update) x.sign_();
  at::_foreach_add_(u.params, update, -u.lr);
  at::_foreach_mul_(exp_avgs, beta2);
  at::_foreach_add_(exp_avgs, u.grads, 1 - beta2);
}

}  // namespace anvil::builtin
