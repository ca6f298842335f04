// The sgd optimizer (see sgd_optimizer.h for the update rule).
#include "sgd_optimizer.h"

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_mul.h>

#include <vector>

namespace anvil::builtin {

namespace {
constexpr std::size_t kMomentumBuffer = 0;  // the one state field
}  // namespace

SgdOptimizer::SgdOptimizer(SgdOptions options)
    : GroupedOptimizer("sgd", options.lr, options.weight_decay, {{"momentum_buffer"}}),
      options_(options) {
  check_option(options_.momentum >= 0 && options_.momentum <= 1, "momentum must be in [0, 1]");
  check_option(options_.dampening >= 0 && options_.dampening <= 1,
               "dampening must be in [0, 1]");
  check_option(!options_.nesterov || (options_.momentum > 0 && options_.dampening == 0),
               "nesterov needs momentum > 0 and dampening = 0");
}

void SgdOptimizer::update_group(GroupUpdate& u) {
  const double momentum = options_.momentum;
  // d = g + wd * p, in new tensors: the .grad() tensors are left untouched.
  std::vector<at::Tensor> d =
      u.weight_decay != 0 ? at::_foreach_add(u.grads, u.params, u.weight_decay) : u.grads;
  if (momentum != 0) {
    std::vector<at::Tensor> bufs;
    if (u.has_states(kMomentumBuffer)) {
      bufs = u.states(kMomentumBuffer);
      at::_foreach_mul_(bufs, momentum);
      at::_foreach_add_(bufs, d, 1.0 - options_.dampening);
    } else {
      // First update of some parameter: its buffer starts as d itself (torch semantics).
      for (std::size_t k = 0; k < u.size(); ++k) {
        at::Tensor& buf = u.state(kMomentumBuffer, k);
        if (!buf.defined()) {
          buf = d[k].detach().clone();
        } else {
          buf.mul_(momentum).add_(d[k], 1.0 - options_.dampening);
        }
        bufs.push_back(buf);
      }
    }
    // Not in place on d: without weight decay d aliases the gradients.
    d = options_.nesterov ? at::_foreach_add(d, bufs, momentum) : bufs;
  }
  at::_foreach_add_(u.params, d, -u.lr);
}

}  // namespace anvil::builtin
