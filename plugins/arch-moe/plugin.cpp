// Registration of the "moe" architecture: the dense decoder's keys plus the experts', router's
// and balancing's.
#include "dense_schema.h"
#include "moe_footprint.h"
#include "moe_model.h"

#include "register_architecture.h"

#include <anvil/plugin.h>

namespace {

using anvil::builtin::MoEModelOptions;

anvil::OptionSchema moe_schema() {
  const MoEModelOptions defaults;
  anvil::OptionSchema schema;
  anvil::builtin::add_dense_schema(schema, defaults.base);
  anvil::builtin::add_latent_attention_schema(schema, defaults.base);
  schema
      .add("n_dense_layers", defaults.n_dense_layers,
           "leading layers with a dense SwiGLU MLP (ffn_hidden wide) instead of experts")
      .min(0);
  schema.add("n_routed_experts", defaults.n_routed_experts, "routed experts per MoE layer").min(1);
  schema
      .add("n_shared_experts", defaults.n_shared_experts,
           "shared experts every token passes through (one SwiGLU of n * expert_hidden)")
      .min(0);
  schema.add("top_k", defaults.top_k, "routed experts chosen per token").min(1);
  schema.add("expert_hidden", defaults.expert_hidden, "gated width of each expert's SwiGLU").min(1);
  schema.add("router_score", defaults.router_score, "how router logits become scores")
      .one_of({"softmax", "sigmoid"});
  schema.add("normalize_top_k", defaults.normalize_top_k,
             "divide each token's top-k weights by their sum");
  schema.add("route_scale", defaults.route_scale, "multiplies the routing weights (> 0)").min(0.0);
  schema
      .add("n_expert_groups", defaults.n_expert_groups,
           "group-limited routing: split the experts into this many groups (1 = off)")
      .min(1);
  schema
      .add("top_k_groups", defaults.top_k_groups,
           "group-limited routing: a token chooses its experts within its best groups")
      .min(1);
  schema.add("balance_loss", defaults.balance_loss, "auxiliary balance loss per sequence or batch")
      .one_of({"none", "sequence", "batch"});
  schema.add("balance_loss_coef", defaults.balance_loss_coef, "weight alpha of the balance loss")
      .min(0.0);
  schema
      .add("bias_update_speed", defaults.bias_update_speed,
           "auxiliary-loss-free balancing: each step, every expert's selection bias moves by "
           "this towards balance (gamma; 0 = off)")
      .min(0.0);
  schema
      .add("capacity_factor", defaults.capacity_factor,
           "tokens per expert capped at capacity_factor * tokens * top_k / experts, the rest "
           "dropped; 0 = dropless")
      .min(0.0);
  return schema;
}

// The options as the factory and the footprint read them; inconsistent ones are reported.
MoEModelOptions read_options(const anvil::Options& options, const anvil::RunContext& context) {
  MoEModelOptions o;
  o.base = anvil::builtin::read_dense_options(options, context);
  anvil::builtin::read_latent_attention_options(options, o.base);
  o.n_dense_layers = options.get<std::int64_t>("n_dense_layers");
  o.n_routed_experts = options.get<std::int64_t>("n_routed_experts");
  o.n_shared_experts = options.get<std::int64_t>("n_shared_experts");
  o.top_k = options.get<std::int64_t>("top_k");
  o.expert_hidden = options.get<std::int64_t>("expert_hidden");
  o.router_score = options.get<std::string>("router_score");
  o.normalize_top_k = options.get<bool>("normalize_top_k");
  o.route_scale = options.get<double>("route_scale");
  o.n_expert_groups = options.get<std::int64_t>("n_expert_groups");
  o.top_k_groups = options.get<std::int64_t>("top_k_groups");
  o.balance_loss = options.get<std::string>("balance_loss");
  o.balance_loss_coef = options.get<double>("balance_loss_coef");
  o.bias_update_speed = options.get<double>("bias_update_speed");
  o.capacity_factor = options.get<double>("capacity_factor");
  anvil::builtin::report_problems(options, anvil::builtin::moe_option_problems(o));
  options.diagnostics().throw_if_any();
  return o;
}

void register_components(anvil::Registry& registry) {
  anvil::builtin::register_architecture(
      registry, "moe",
      "DeepSeekMoE-style decoder: leading dense layers, then fine-grained routed experts plus "
      "shared experts, top-k routing, balance loss and auxiliary-loss-free balancing",
      moe_schema(), read_options, anvil::builtin::make_moe_model, anvil::builtin::moe_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-moe", "1.0.0", "Mixture-of-Experts decoder (DeepSeekMoE)", "Apache-2.0",
             register_components)
