// Registration of the "sgd" optimizer: its options and the factory that reads them.
#include "sgd_optimizer.h"

#include <anvil/plugin.h>

namespace {

anvil::OptionSchema sgd_schema() {
  anvil::OptionSchema schema;
  schema.add("lr", 0.01, "base learning rate (> 0); the schedule scales it each step").min(0.0);
  schema.add("momentum", 0.0, "momentum factor (0 disables momentum)").range(0.0, 1.0);
  schema.add("dampening", 0.0, "dampening of the momentum: buf = momentum*buf + (1-dampening)*grad")
      .range(0.0, 1.0);
  schema.add("nesterov", false, "use Nesterov momentum (needs momentum > 0 and dampening = 0)");
  schema
      .add("weight_decay", 0.0,
           "L2 penalty added to the gradient, for parameter groups that set no weight decay")
      .min(0.0);
  return schema;
}

std::unique_ptr<anvil::builtin::SgdOptimizer> make_sgd(const anvil::Options& options,
                                                       const anvil::RunContext&) {
  anvil::builtin::SgdOptions o;
  o.lr = anvil::GroupedOptimizer::read_lr(options);
  o.momentum = options.get<double>("momentum");
  o.dampening = options.get<double>("dampening");
  o.nesterov = options.get<bool>("nesterov");
  o.weight_decay = options.get<double>("weight_decay");
  // The check the schema cannot express.
  if (o.nesterov && !(o.momentum > 0 && o.dampening == 0))
    options.error("nesterov", "needs momentum > 0 and dampening = 0",
                  "set momentum (e.g. 0.9) and leave dampening at 0, or turn nesterov off");
  options.diagnostics().throw_if_any();
  return std::make_unique<anvil::builtin::SgdOptimizer>(o);
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Optimizer>(
      "sgd", "SGD with momentum, Nesterov and L2 weight decay (torch.optim.SGD)", sgd_schema(),
      make_sgd);
}

}  // namespace

ANVIL_PLUGIN(
    "optimizer-sgd", "1.0.0", "Stochastic gradient descent", "Apache-2.0", register_components)
