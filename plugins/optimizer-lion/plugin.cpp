// Registration of the "lion" optimizer: its options and the factory that reads them.
#include "lion_optimizer.h"

#include <anvil/plugin.h>

#include <string>
#include <vector>

namespace {

anvil::OptionSchema lion_schema() {
  anvil::OptionSchema schema;
  schema
      .add("lr", 1e-4,
           "base learning rate (> 0), typically 3-10x smaller than AdamW's; the schedule scales "
           "it each step")
      .min(0.0);
  schema
      .add("betas", std::vector<double>{0.9, 0.99},
           "[beta1, beta2]: the momentum's weight in the update's sign, and its decay rate, each "
           "in [0, 1)")
      .range(0.0, 1.0);
  schema
      .add("weight_decay", 0.0,
           "decoupled weight decay (p *= 1 - lr * weight_decay each step), for parameter groups "
           "that set no weight decay")
      .min(0.0);
  return schema;
}

std::unique_ptr<anvil::builtin::LionOptimizer> make_lion(const anvil::Options& options,
                                                         const anvil::RunContext&) {
  anvil::builtin::LionOptions o;
  o.lr = anvil::GroupedOptimizer::read_lr(options);
  if (const auto betas = anvil::GroupedOptimizer::read_betas(options, "[0.9, 0.99]"))
    o.betas = *betas;
  o.weight_decay = options.get<double>("weight_decay");
  options.diagnostics().throw_if_any();
  return std::make_unique<anvil::builtin::LionOptimizer>(o);
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Optimizer>(
      "lion", "Lion: sign momentum with decoupled weight decay (Chen et al. 2023)", lion_schema(),
      make_lion);
}

}  // namespace

ANVIL_PLUGIN("optimizer-lion", "1.0.0", "Lion optimizer", "Apache-2.0", register_components)
