#pragma once
/// @file moe.h
/// Mixture-of-Experts feed-forward layer, DeepSeekMoE-style: fine-grained routed experts chosen
/// per token by a TopKRouter, plus shared experts every token passes through. Dispatch sorts
/// the (token, expert) assignments by expert and runs each expert once on its contiguous
/// slice, so the work is k expert MLPs per token, never all E.

#include <anvil/export.h>
#include <anvil/nn/mlp.h>
#include <anvil/nn/router.h>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

namespace anvil::nn {

/// The (token, expert) assignments of a Routing, grouped by expert.
struct ExpertDispatch {
  at::Tensor tokens;   ///< [M] int64: token row of each assignment, grouped by expert
  at::Tensor weights;  ///< [M]: each assignment's routing weight
  std::vector<std::int64_t> counts;  ///< [E] assignments per expert (after any capacity cut)
  at::Tensor load;     ///< [E] float32: tokens routed to each expert, before the capacity cut
  std::int64_t dropped = 0;  ///< assignments cut by the capacity
};

/// Groups `routing`'s N·k assignments by expert (a stable sort, so each expert sees its tokens
/// in order). With `capacity` > 0 an expert keeps only its first `capacity` tokens; the others
/// are dropped (their weight is lost and the residual stream carries the token unchanged).
/// Reads the per-expert counts on the host: one device synchronisation.
ANVIL_SDK_API ExpertDispatch dispatch_by_expert(const Routing& routing, std::int64_t n_experts,
                                                std::int64_t capacity = 0);

/// E SwiGLU experts stored as stacked matrices, so that each expert is a slice and all of them
/// one parameter per projection. Parameters: w1 [E, hidden, dim] (gate), w2 [E, dim, hidden]
/// (down), w3 [E, hidden, dim] (up).
class ANVIL_SDK_API GroupedExpertsImpl : public torch::nn::Cloneable<GroupedExpertsImpl> {
 public:
  /// `n_experts` experts of width `dim` with `hidden` gated units each.
  GroupedExpertsImpl(std::int64_t n_experts, std::int64_t dim, std::int64_t hidden);
  /// (Re)creates the stacked weights (uniform, as LibTorch initialises a Linear).
  void reset() override;
  /// @param x [M, dim] rows grouped by expert, `counts[e]` rows for expert e in order.
  /// @return [M, dim]: each row through its expert.
  at::Tensor forward(const at::Tensor& x, const std::vector<std::int64_t>& counts);

  std::int64_t n_experts;  ///< E
  std::int64_t dim;        ///< input and output width
  std::int64_t hidden;     ///< gated width of each expert
  at::Tensor w1, w2, w3;   ///< stacked projections
};
TORCH_MODULE(GroupedExperts);

/// How the balance of an MoE layer's expert load is encouraged through the loss.
enum class BalanceLoss {
  none,      ///< no auxiliary loss
  sequence,  ///< DeepSeek-V3's sequence-wise loss: balance within every sequence
  batch,     ///< the same over all tokens of the batch (Switch / GShard style)
};

/// "none", "sequence" or "batch".
ANVIL_SDK_API std::string to_string(BalanceLoss loss);
/// The loss of a name written by to_string(); throws anvil::Error for another name.
ANVIL_SDK_API BalanceLoss parse_balance_loss(const std::string& name);

/// Shape and balancing of an MoE layer.
struct MoEOptions {
  RouterOptions router;                ///< d_model, experts, top_k and the selection rule
  std::int64_t expert_hidden = 0;      ///< gated width of each routed expert
  std::int64_t n_shared_experts = 0;   ///< shared experts (one SwiGLU of n * expert_hidden)
  /// Tokens an expert may take per forward: ceil(capacity_factor * N * k / E); 0 = dropless.
  double capacity_factor = 0;
  BalanceLoss balance_loss = BalanceLoss::sequence;
  double balance_loss_coef = 0;  ///< alpha: weight of the balance loss (0 = none)
};

/// What an MoE layer's forward pass returns besides its output.
struct MoEOutput {
  at::Tensor output;     ///< [B, T, D]
  at::Tensor aux_loss;   ///< weighted balance loss (scalar float32), undefined when none
  at::Tensor load;       ///< [E] float32 tokens routed to each expert (detached)
  std::int64_t dropped = 0;  ///< assignments cut by the capacity
};

/// The balance loss of DeepSeek-V3, alpha * sum_i f_i P_i: f_i is expert i's share of the
/// assignments times E / k (1 when balanced), P_i its mean probability. Sequence-wise it is
/// computed per sequence and averaged. @param routing of B * T tokens, row b * T + t.
/// @return a scalar; zero when `kind` is none.
ANVIL_SDK_API at::Tensor balance_loss(const Routing& routing, std::int64_t batch,
                                      std::int64_t n_experts, BalanceLoss kind, double coef);

/// Router, routed experts and shared experts. Parameters: router.weight, experts.{w1,w2,w3},
/// and, with shared experts, shared.{w1,w2,w3}.weight. Buffer: router.expert_bias.
class ANVIL_SDK_API MoEFeedForwardImpl : public torch::nn::Cloneable<MoEFeedForwardImpl> {
 public:
  /// Throws anvil::Error for inconsistent options.
  explicit MoEFeedForwardImpl(const MoEOptions& options);
  void reset() override;
  /// @param x [B, T, D]. The balance loss is computed in training mode only (also without
  /// autograd, so that activation checkpointing's first pass returns it too).
  MoEOutput forward(const at::Tensor& x);

  MoEOptions options;
  TopKRouter router{nullptr};
  GroupedExperts experts{nullptr};
  SwiGLU shared{nullptr};  ///< empty without shared experts
};
TORCH_MODULE(MoEFeedForward);

/// max / mean of a load vector: 1 when perfectly balanced, E when one expert takes everything.
ANVIL_SDK_API double load_imbalance(const at::Tensor& load);

}  // namespace anvil::nn
