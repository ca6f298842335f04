#pragma once
/// @file moe_options.h
/// Hyper-parameters of the "moe" architecture (DeepSeekMoE): a dense decoder's options for the
/// attention, the widths and the leading dense layers, plus the experts, the router and the
/// load balancing of the MoE layers. Free of torch headers, like dense_options.h.

#include <anvil/nn/decoder/dense_options.h>

#include <cstdint>
#include <string>
#include <vector>

namespace anvil::builtin {

// The SDK's dense decoder, which this architecture builds on.
using nn::DenseOptionProblem;
using nn::DenseOptions;
using nn::attention_matmul_parameters;
using nn::attention_score_flops;
using nn::dense_option_problems;
using nn::mtp_matmul_parameters;
using nn::throw_option_problems;

/// The options of the MoE decoder. The defaults are the plugin schema's.
struct MoEModelOptions {
  DenseOptions base;                 ///< attention, widths, norms; base.n_layers counts all layers
  std::int64_t n_dense_layers = 1;   ///< leading layers with a dense SwiGLU (width base.ffn_width())
  std::int64_t n_routed_experts = 8; ///< E: routed experts per MoE layer
  std::int64_t n_shared_experts = 1; ///< experts every token passes through
  std::int64_t top_k = 2;            ///< routed experts per token
  std::int64_t expert_hidden = 256;  ///< gated width of each (fine-grained) expert
  std::string router_score = "softmax";  ///< "softmax" or "sigmoid"
  bool normalize_top_k = true;       ///< the k weights of a token sum to 1
  double route_scale = 1.0;          ///< multiplies the routing weights
  std::int64_t n_expert_groups = 1;  ///< group-limited routing: groups of experts (1 = off)
  std::int64_t top_k_groups = 1;     ///< groups a token may choose its experts from
  std::string balance_loss = "sequence";  ///< "none", "sequence" or "batch"
  double balance_loss_coef = 1e-3;   ///< alpha of the balance loss
  double bias_update_speed = 0.0;    ///< gamma of auxiliary-loss-free balancing (0 = off)
  double capacity_factor = 0.0;      ///< 0 = dropless

  /// Layers with experts: base.n_layers - n_dense_layers.
  std::int64_t n_moe_layers() const noexcept { return base.n_layers - n_dense_layers; }
};

/// Every problem with `options` (the dense ones included), at its manifest key.
std::vector<DenseOptionProblem> moe_option_problems(const MoEModelOptions& options);

/// Throws anvil::Error listing every problem of moe_option_problems, if there is one.
void check_moe_options(const MoEModelOptions& options);

/// Parameter counts of the model.
struct MoEParameterCount {
  std::int64_t total = 0;   ///< every parameter that enters a matmul (all experts), plus the head
  std::int64_t active = 0;  ///< those one token uses: top_k routed and the shared experts
};

/// The matmul parameters (head included, embedding lookup, norms and biases not), in total and
/// active per token; the router's matrix and the multi-token prediction modules
/// (mtp_matmul_parameters) count as active.
MoEParameterCount moe_matmul_parameters(const MoEModelOptions& options);

/// Training FLOPs per token: 6 * active matmul parameters + (n_layers + mtp_depth) *
/// attention_score_flops(seq_len), as dense_flops_per_token counts attention.
double moe_flops_per_token(const MoEModelOptions& options, std::int64_t seq_len);

}  // namespace anvil::builtin
