#pragma once
/// @file router.h
/// The top-k router of Mixture-of-Experts layers (DeepSeekMoE / DeepSeek-V3): scores every
/// expert for every token, picks k of them, and weights their outputs.

#include <anvil/export.h>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace anvil::nn {

/// How a router turns its logits into scores.
enum class RouterScore {
  softmax,  ///< probabilities over the experts (DeepSeek-V2, Mixtral)
  sigmoid,  ///< one independent affinity per expert (DeepSeek-V3)
};

/// "softmax" or "sigmoid".
ANVIL_SDK_API std::string to_string(RouterScore score);
/// The score of a name written by to_string(); throws anvil::Error for another name.
ANVIL_SDK_API RouterScore parse_router_score(const std::string& name);

/// Shape and selection rule of a router.
struct RouterOptions {
  std::int64_t d_model = 0;    ///< width of the tokens routed
  std::int64_t n_experts = 0;  ///< E: routed experts
  std::int64_t top_k = 1;      ///< experts chosen per token
  RouterScore score = RouterScore::softmax;
  /// Divide the k chosen scores by their sum, so each token's weights add up to 1 (always
  /// sensible for sigmoid scores, which do not sum to 1).
  bool normalize_top_k = true;
  double route_scale = 1.0;  ///< multiplies the weights after normalisation
  /// Group-limited routing: the experts form n_groups equal groups (consecutive indices) and a
  /// token may choose only among the experts of its top_k_groups best groups. 1 = off.
  std::int64_t n_groups = 1;
  std::int64_t top_k_groups = 1;  ///< groups a token may draw its experts from
};

/// The router's decision for N tokens.
struct Routing {
  at::Tensor experts;  ///< [N, k] int64: chosen experts, best first
  at::Tensor weights;  ///< [N, k] float32 (or float64): their weights, differentiable
  /// [N, E] float32 (or float64): every expert's score, normalised to sum 1 per token (the softmax itself;
  /// sigmoid affinities divided by their sum), for balance losses.
  at::Tensor probabilities;
};

/// Linear scores of each token against E expert centroids, then top-k selection. Selection
/// (not the weights) adds `expert_bias`, the per-expert bias of auxiliary-loss-free balancing
/// (DeepSeek-V3), which update_expert_bias() moves after each step. Scores, selection and
/// weights are computed in float32 (float64 for float64 inputs) whatever the activations'
/// dtype, so that ties and the softmax do not depend on bf16 rounding. Group scores (group-limited routing): a group's
/// best score for softmax routers (DeepSeek-V2), the sum of its two best biased scores for
/// sigmoid ones (DeepSeek-V3).
///
/// Parameters: weight [E, d_model]. Buffers: expert_bias [E] (float32, zeros).
class ANVIL_SDK_API TopKRouterImpl : public torch::nn::Cloneable<TopKRouterImpl> {
 public:
  /// Throws anvil::Error for an inconsistent `options` (k > E, groups not dividing E, ...).
  explicit TopKRouterImpl(const RouterOptions& options);
  /// (Re)creates the weight (LibTorch's default init) and zeroes the bias.
  void reset() override;
  /// @param x [N, d_model]. @return the routing of the N tokens.
  Routing forward(const at::Tensor& x);
  /// Auxiliary-loss-free balancing: every expert's bias moves by `speed` towards balance,
  /// up when its `load` (tokens routed to it, [E], any dtype) is below the mean and down when
  /// above; unchanged for an expert exactly at the mean.
  void update_expert_bias(const at::Tensor& load, double speed);

  RouterOptions options;    ///< the selection rule
  at::Tensor weight;        ///< [E, d_model] expert centroids
  at::Tensor expert_bias;   ///< [E] float32 selection bias (a buffer: saved, not trained)
};
TORCH_MODULE(TopKRouter);

}  // namespace anvil::nn
