#pragma once
/// @file mlp.h
/// The SwiGLU feed-forward block, shared by the architecture plugins (dense layers, MoE
/// experts).

#include <anvil/export.h>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace anvil::nn {

/// w2(silu(w1 x) * w3 x), without biases. Parameters: w1.weight (gate), w2.weight (down),
/// w3.weight (up), the names Llama checkpoints use.
class ANVIL_SDK_API SwiGLUImpl : public torch::nn::Cloneable<SwiGLUImpl> {
 public:
  /// A block of width `dim` with `hidden` gated units.
  SwiGLUImpl(std::int64_t dim, std::int64_t hidden);
  /// (Re)creates the three projections (LibTorch's default initialisation).
  void reset() override;
  /// @param x [..., dim]. @return [..., dim].
  at::Tensor forward(const at::Tensor& x);

  std::int64_t dim;                ///< input and output width
  std::int64_t hidden;             ///< gated width
  torch::nn::Linear w1{nullptr};   ///< dim -> hidden (gate)
  torch::nn::Linear w2{nullptr};   ///< hidden -> dim (down)
  torch::nn::Linear w3{nullptr};   ///< dim -> hidden (up)
};
TORCH_MODULE(SwiGLU);

}  // namespace anvil::nn
