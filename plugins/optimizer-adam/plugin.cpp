// Registration of the "adam" and "adamw" optimizers: their options and the factories that read
// them. One implementation (AdamOptimizer) serves both; only the weight decay differs.
#include "adam_optimizer.h"

#include <anvil/option_binding.h>
#include <anvil/plugin.h>

#include <string>
#include <vector>

namespace {

using anvil::builtin::AdamOptions;

// "adam" (decoupled = false) or "adamw" (decoupled = true): the same keys, another default and
// meaning of weight_decay.
anvil::OptionBinding<AdamOptions> adam_binding(bool decoupled, std::string weight_decay_doc) {
  AdamOptions defaults;
  defaults.decoupled_weight_decay = decoupled;
  defaults.weight_decay = decoupled ? 0.01 : 0.0;
  anvil::OptionBinding<AdamOptions> binding(defaults);
  binding.bind("lr", &AdamOptions::lr, "base learning rate (> 0); the schedule scales it each step").min(0.0);
  // A std::array, read by read_betas (which also checks each is below 1).
  binding.schema()
      .add("betas", std::vector<double>{defaults.betas[0], defaults.betas[1]},
           "[beta1, beta2]: decay rates of the gradient's running mean and of its running mean "
           "square, each in [0, 1)")
      .range(0.0, 1.0);
  binding.bind("eps", &AdamOptions::eps, "added to the denominator for numerical stability").min(0.0);
  binding.bind("weight_decay", &AdamOptions::weight_decay, std::move(weight_decay_doc)).min(0.0);
  binding.bind("amsgrad", &AdamOptions::amsgrad,
               "normalise by the running maximum of the mean square (AMSGrad) instead of the mean "
               "square itself");
  return binding;
}

void add_adam(anvil::Registry& registry, std::string name, std::string description,
              const anvil::OptionBinding<AdamOptions>& binding) {
  registry.add<anvil::Optimizer>(
      std::move(name), std::move(description), binding.schema(),
      [binding](const anvil::Options& options, const anvil::RunContext&) {
        AdamOptions o = binding.read(options);
        o.lr = anvil::GroupedOptimizer::read_lr(options);  // also refuses lr = 0
        if (const auto betas = anvil::GroupedOptimizer::read_betas(options, "[0.9, 0.98]")) o.betas = *betas;
        options.diagnostics().throw_if_any();
        return std::make_unique<anvil::builtin::AdamOptimizer>(o);
      });
}

void register_components(anvil::Registry& registry) {
  add_adam(registry, "adam", "Adam with bias correction, AMSGrad and L2 weight decay (torch.optim.Adam)",
           adam_binding(false,
                        "L2 penalty added to the gradient, for parameter groups that set no "
                        "weight decay"));
  add_adam(registry, "adamw", "Adam with decoupled weight decay and AMSGrad (torch.optim.AdamW)",
           adam_binding(true,
                        "decoupled weight decay (p *= 1 - lr * weight_decay each step), for "
                        "parameter groups that set no weight decay"));
}

}  // namespace

ANVIL_PLUGIN("optimizer-adam", "1.0.0", "Adam and AdamW optimizers", "Apache-2.0",
             register_components)
