// Registration of the "moe" architecture: the dense decoder's keys plus the experts', router's
// and balancing's.
#include <anvil/nn/decoder/dense_schema.h>
#include "moe_footprint.h"
#include "moe_model.h"

#include <anvil/nn/decoder/register_architecture.h>

#include <anvil/plugin.h>

namespace {

using anvil::builtin::MoEModelOptions;

anvil::OptionBinding<MoEModelOptions> moe_binding() {
  const MoEModelOptions defaults;
  anvil::OptionBinding<MoEModelOptions> binding(defaults);
  binding.include(anvil::nn::dense_binding(defaults.base), &MoEModelOptions::base);
  binding
      .bind("n_dense_layers", &MoEModelOptions::n_dense_layers,
           "leading layers with a dense SwiGLU MLP (ffn_hidden wide) instead of experts")
      .min(0);
  binding.bind("n_routed_experts", &MoEModelOptions::n_routed_experts, "routed experts per MoE layer").min(1);
  binding
      .bind("n_shared_experts", &MoEModelOptions::n_shared_experts,
           "shared experts every token passes through (one SwiGLU of n * expert_hidden)")
      .min(0);
  binding.bind("top_k", &MoEModelOptions::top_k, "routed experts chosen per token").min(1);
  binding.bind("expert_hidden", &MoEModelOptions::expert_hidden, "gated width of each expert's SwiGLU").min(1);
  binding.bind("router_score", &MoEModelOptions::router_score, "how router logits become scores")
      .one_of({"softmax", "sigmoid"});
  binding.bind("normalize_top_k", &MoEModelOptions::normalize_top_k,
             "divide each token's top-k weights by their sum");
  binding.bind("route_scale", &MoEModelOptions::route_scale, "multiplies the routing weights (> 0)").min(0.0);
  binding
      .bind("n_expert_groups", &MoEModelOptions::n_expert_groups,
           "group-limited routing: split the experts into this many groups (1 = off)")
      .min(1);
  binding
      .bind("top_k_groups", &MoEModelOptions::top_k_groups,
           "group-limited routing: a token chooses its experts within its best groups")
      .min(1);
  binding.bind("balance_loss", &MoEModelOptions::balance_loss, "auxiliary balance loss per sequence or batch")
      .one_of({"none", "sequence", "batch"});
  binding.bind("balance_loss_coef", &MoEModelOptions::balance_loss_coef, "weight alpha of the balance loss")
      .min(0.0);
  binding
      .bind("bias_update_speed", &MoEModelOptions::bias_update_speed,
           "auxiliary-loss-free balancing: each step, every expert's selection bias moves by "
           "this towards balance (gamma; 0 = off)")
      .min(0.0);
  binding
      .bind("capacity_factor", &MoEModelOptions::capacity_factor,
           "tokens per expert capped at capacity_factor * tokens * top_k / experts, the rest "
           "dropped; 0 = dropless")
      .min(0.0);
  return binding;
}

void register_components(anvil::Registry& registry) {
  const auto binding = moe_binding();
  // The options as the factory and the footprint read them; inconsistent ones are reported.
  const auto read_options = [binding](const anvil::Options& options, const anvil::RunContext& context) {
    MoEModelOptions o = binding.read(options);
    o.base.vocab_size = context.vocab_size;
    anvil::nn::report_problems(options, anvil::builtin::moe_option_problems(o));
    options.diagnostics().throw_if_any();
    return o;
  };
  anvil::nn::register_architecture(
      registry, "moe",
      "DeepSeekMoE-style decoder: leading dense layers, then fine-grained routed experts plus "
      "shared experts, top-k routing, balance loss and auxiliary-loss-free balancing",
      binding.schema(), read_options, anvil::builtin::make_moe_model, anvil::builtin::moe_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-moe", "1.0.0", "Mixture-of-Experts decoder (DeepSeekMoE)", "Apache-2.0",
             register_components)
