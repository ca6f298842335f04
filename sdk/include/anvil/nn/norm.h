#pragma once
/// @file norm.h
/// Root-mean-square layer norm, shared by the architecture plugins.

#include <anvil/export.h>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace anvil::nn {

/// x / sqrt(mean(x^2) + eps) * weight, over the last dimension. Its parameter is "weight".
class ANVIL_SDK_API RMSNormImpl : public torch::nn::Cloneable<RMSNormImpl> {
 public:
  /// A norm over `dim` features with `eps` inside the square root.
  RMSNormImpl(std::int64_t dim, double eps);
  /// (Re)creates the gain, initialised to 1.
  void reset() override;
  /// @param x [..., dim]. Normalised in float32 at least and cast back to x's dtype before
  /// the gain multiplies it (as Hugging Face's LlamaRMSNorm), so the result has the promoted
  /// dtype of x and the gain: float32 for bf16 activations with float32 master weights.
  at::Tensor forward(const at::Tensor& x);

  std::int64_t dim;   ///< features normalised
  double eps;         ///< added to the mean square
  at::Tensor weight;  ///< [dim] gain
};
TORCH_MODULE(RMSNorm);

}  // namespace anvil::nn
