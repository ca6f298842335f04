// Registration of the "sgd" optimizer: its options and the factory that reads them.
#include "sgd_optimizer.h"

#include <anvil/option_binding.h>
#include <anvil/plugin.h>

namespace {

using anvil::builtin::SgdOptions;

anvil::OptionBinding<SgdOptions> sgd_options() {
  anvil::OptionBinding<SgdOptions> binding;
  binding.bind("lr", &SgdOptions::lr, "base learning rate (> 0); the schedule scales it each step").min(0.0);
  binding.bind("momentum", &SgdOptions::momentum, "momentum factor (0 disables momentum)").range(0.0, 1.0);
  binding
      .bind("dampening", &SgdOptions::dampening,
            "dampening of the momentum: buf = momentum*buf + (1-dampening)*grad")
      .range(0.0, 1.0);
  binding.bind("nesterov", &SgdOptions::nesterov, "use Nesterov momentum (needs momentum > 0 and dampening = 0)");
  binding
      .bind("weight_decay", &SgdOptions::weight_decay,
            "L2 penalty added to the gradient, for parameter groups that set no weight decay")
      .min(0.0);
  return binding;
}

std::unique_ptr<anvil::builtin::SgdOptimizer> make_sgd(const anvil::OptionBinding<SgdOptions>& binding,
                                                       const anvil::Options& options) {
  SgdOptions o = binding.read(options);
  o.lr = anvil::GroupedOptimizer::read_lr(options);  // also refuses lr = 0
  // The check the schema cannot express.
  if (o.nesterov && !(o.momentum > 0 && o.dampening == 0))
    options.error("nesterov", "needs momentum > 0 and dampening = 0",
                  "set momentum (e.g. 0.9) and leave dampening at 0, or turn nesterov off");
  options.diagnostics().throw_if_any();
  return std::make_unique<anvil::builtin::SgdOptimizer>(o);
}

void register_components(anvil::Registry& registry) {
  const auto binding = sgd_options();
  registry.add<anvil::Optimizer>(
      "sgd", "SGD with momentum, Nesterov and L2 weight decay (torch.optim.SGD)", binding.schema(),
      [binding](const anvil::Options& options, const anvil::RunContext&) { return make_sgd(binding, options); });
}

}  // namespace

ANVIL_PLUGIN(
    "optimizer-sgd", "1.0.0", "Stochastic gradient descent", "Apache-2.0", register_components)
