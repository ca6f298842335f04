// Checks and derived quantities of the MoE architecture's options (see moe_options.h).
#include "moe_options.h"

#include <anvil/errors.h>

#include <sstream>

namespace anvil::builtin {
namespace {

template <class... Parts>
void add(std::vector<DenseOptionProblem>& problems, const char* key, const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  problems.push_back({key, message.str()});
}

}  // namespace

std::vector<DenseOptionProblem> moe_option_problems(const MoEModelOptions& o) {
  std::vector<DenseOptionProblem> problems = dense_option_problems(o.base);
  if (o.n_dense_layers < 0 || o.n_dense_layers >= o.base.n_layers)
    add(problems, "n_dense_layers", "must be in [0, n_layers) so that at least one layer has experts; got ",
        o.n_dense_layers, " with n_layers = ", o.base.n_layers);
  if (o.n_routed_experts < 1) add(problems, "n_routed_experts", "must be positive, got ", o.n_routed_experts);
  if (o.n_shared_experts < 0) add(problems, "n_shared_experts", "must be >= 0, got ", o.n_shared_experts);
  if (o.top_k < 1 || o.top_k > o.n_routed_experts)
    add(problems, "top_k", "must be in [1, n_routed_experts = ", o.n_routed_experts, "], got ", o.top_k);
  if (o.expert_hidden < 1) add(problems, "expert_hidden", "must be positive, got ", o.expert_hidden);
  if (o.router_score != "softmax" && o.router_score != "sigmoid")
    add(problems, "router_score", "must be \"softmax\" or \"sigmoid\", got \"", o.router_score, "\"");
  if (!(o.route_scale > 0)) add(problems, "route_scale", "must be greater than 0, got ", o.route_scale);
  if (o.n_expert_groups < 1 || o.n_routed_experts % o.n_expert_groups != 0) {
    add(problems, "n_expert_groups", "must divide n_routed_experts (", o.n_routed_experts, "), got ",
        o.n_expert_groups);
  } else if (o.top_k_groups < 1 || o.top_k_groups > o.n_expert_groups) {
    add(problems, "top_k_groups", "must be in [1, n_expert_groups = ", o.n_expert_groups, "], got ",
        o.top_k_groups);
  } else if (o.top_k <= o.n_routed_experts &&
             o.top_k > o.top_k_groups * (o.n_routed_experts / o.n_expert_groups)) {
    add(problems, "top_k", "exceeds the ", o.top_k_groups * (o.n_routed_experts / o.n_expert_groups),
        " experts in top_k_groups groups, got ", o.top_k);
  }
  if (o.balance_loss != "none" && o.balance_loss != "sequence" && o.balance_loss != "batch")
    add(problems, "balance_loss", "must be \"none\", \"sequence\" or \"batch\", got \"", o.balance_loss, "\"");
  if (!(o.balance_loss_coef >= 0))
    add(problems, "balance_loss_coef", "must be >= 0, got ", o.balance_loss_coef);
  if (!(o.bias_update_speed >= 0))
    add(problems, "bias_update_speed", "must be >= 0, got ", o.bias_update_speed);
  if (!(o.capacity_factor >= 0))
    add(problems, "capacity_factor", "must be 0 (dropless) or positive, got ", o.capacity_factor);
  return problems;
}

void check_moe_options(const MoEModelOptions& options) {
  throw_option_problems("moe", moe_option_problems(options));
}

MoEParameterCount moe_matmul_parameters(const MoEModelOptions& o) {
  const DenseOptions& b = o.base;
  const std::int64_t D = b.d_model;
  const std::int64_t attention = attention_matmul_parameters(b);
  const std::int64_t dense_mlp = 3 * D * b.ffn_width();
  const std::int64_t expert = 3 * D * o.expert_hidden;
  const std::int64_t router = D * o.n_routed_experts;
  const std::int64_t head = b.vocab_size * D;
  const std::int64_t shared = o.n_shared_experts * expert + router;
  MoEParameterCount count;
  count.total = mtp_matmul_parameters(b) + b.n_layers * attention + o.n_dense_layers * dense_mlp +
                o.n_moe_layers() * (shared + o.n_routed_experts * expert) + head;
  count.active = mtp_matmul_parameters(b) + b.n_layers * attention + o.n_dense_layers * dense_mlp +
                 o.n_moe_layers() * (shared + o.top_k * expert) + head;
  return count;
}

double moe_flops_per_token(const MoEModelOptions& o, std::int64_t seq_len) {
  return 6.0 * static_cast<double>(moe_matmul_parameters(o).active) +
         static_cast<double>(o.base.n_layers + o.base.mtp_depth) * attention_score_flops(o.base, seq_len);
}

}  // namespace anvil::builtin
