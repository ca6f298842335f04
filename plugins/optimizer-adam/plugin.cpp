// Registration of the "adam" and "adamw" optimizers: their options and the factories that read
// them. One implementation (AdamOptimizer) serves both; only the weight decay differs.
#include "adam_optimizer.h"

#include <anvil/plugin.h>

#include <string>
#include <vector>

namespace {

anvil::OptionSchema adam_schema(double default_weight_decay, std::string weight_decay_doc) {
  anvil::OptionSchema schema;
  schema.add("lr", 1e-3, "base learning rate (> 0); the schedule scales it each step").min(0.0);
  schema
      .add("betas", std::vector<double>{0.9, 0.999},
           "[beta1, beta2]: decay rates of the gradient's running mean and of its running mean "
           "square, each in [0, 1)")
      .range(0.0, 1.0);
  schema.add("eps", 1e-8, "added to the denominator for numerical stability").min(0.0);
  schema.add("weight_decay", default_weight_decay, std::move(weight_decay_doc)).min(0.0);
  schema.add("amsgrad", false,
             "normalise by the running maximum of the mean square (AMSGrad) instead of the mean "
             "square itself");
  return schema;
}

// The factory of "adam" (decoupled = false) or "adamw" (decoupled = true).
auto adam_factory(bool decoupled) {
  return [decoupled](const anvil::Options& options, const anvil::RunContext&) {
    anvil::builtin::AdamOptions o;
    o.lr = anvil::GroupedOptimizer::read_lr(options);
    if (const auto betas = anvil::GroupedOptimizer::read_betas(options, "[0.9, 0.98]"))
      o.betas = *betas;
    o.eps = options.get<double>("eps");
    o.weight_decay = options.get<double>("weight_decay");
    o.amsgrad = options.get<bool>("amsgrad");
    o.decoupled_weight_decay = decoupled;
    options.diagnostics().throw_if_any();
    return std::make_unique<anvil::builtin::AdamOptimizer>(o);
  };
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Optimizer>(
      "adam", "Adam with bias correction, AMSGrad and L2 weight decay (torch.optim.Adam)",
      adam_schema(0.0,
                  "L2 penalty added to the gradient, for parameter groups that set no "
                  "weight decay"),
      adam_factory(false));
  registry.add<anvil::Optimizer>(
      "adamw", "Adam with decoupled weight decay and AMSGrad (torch.optim.AdamW)",
      adam_schema(0.01,
                  "decoupled weight decay (p *= 1 - lr * weight_decay each step), for "
                  "parameter groups that set no weight decay"),
      adam_factory(true));
}

}  // namespace

ANVIL_PLUGIN("optimizer-adam", "1.0.0", "Adam and AdamW optimizers", "Apache-2.0",
             register_components)
