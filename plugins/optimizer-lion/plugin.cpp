// Registration of the "lion" optimizer: its options and the factory that reads them.
#include "lion_optimizer.h"

#include <anvil/option_binding.h>
#include <anvil/plugin.h>

#include <string>
#include <vector>

namespace {

using anvil::builtin::LionOptions;

anvil::OptionBinding<LionOptions> lion_binding() {
  const LionOptions defaults;
  anvil::OptionBinding<LionOptions> binding(defaults);
  binding
      .bind("lr", &LionOptions::lr,
            "base learning rate (> 0), typically 3-10x smaller than AdamW's; the schedule scales "
            "it each step")
      .min(0.0);
  // A std::array, read by read_betas (which also checks each is below 1).
  binding.schema()
      .add("betas", std::vector<double>{defaults.betas[0], defaults.betas[1]},
           "[beta1, beta2]: the momentum's weight in the update's sign, and its decay rate, each "
           "in [0, 1)")
      .range(0.0, 1.0);
  binding
      .bind("weight_decay", &LionOptions::weight_decay,
            "decoupled weight decay (p *= 1 - lr * weight_decay each step), for parameter groups "
            "that set no weight decay")
      .min(0.0);
  return binding;
}

void register_components(anvil::Registry& registry) {
  const auto binding = lion_binding();
  registry.add<anvil::Optimizer>(
      "lion", "Lion: sign momentum with decoupled weight decay (Chen et al. 2023)", binding.schema(),
      [binding](const anvil::Options& options, const anvil::RunContext&) {
        LionOptions o = binding.read(options);
        o.lr = anvil::GroupedOptimizer::read_lr(options);  // also refuses lr = 0
        if (const auto betas = anvil::GroupedOptimizer::read_betas(options, "[0.9, 0.99]")) o.betas = *betas;
        options.diagnostics().throw_if_any();
        return std::make_unique<anvil::builtin::LionOptimizer>(o);
      });
}

}  // namespace

ANVIL_PLUGIN("optimizer-lion", "1.0.0", "Lion optimizer", "Apache-2.0", register_components)
