#pragma once
/// @file mtp.h
/// Multi-token prediction (DeepSeek-V3, section 2.2): mtp_depth sequential modules after the
/// main decoder. Module k combines the previous depth's hidden state at position i with the
/// embedding of token i + k, runs one decoder block, and predicts token i + k + 1 through the
/// model's own final norm and output head. Training adds mtp_weight times the mean of the
/// modules' cross-entropies to the loss; inference ignores the modules.

#include <anvil/nn/decoder/dense_layers.h>
#include <anvil/nn/decoder/dense_options.h>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace anvil::nn {

/// One depth: h_k = block(proj([hidden_norm(h_{k-1}); embed_norm(embedding)])). Parameter names:
/// hidden_norm.weight, embed_norm.weight, proj.weight ([D, 2D]), block.* (a DenseBlock).
class MTPModuleImpl : public torch::nn::Cloneable<MTPModuleImpl> {
 public:
  /// Module number `depth` (1-based) of a decoder with `options`; its block is built as layer
  /// n_layers + depth - 1 would be (local or global in a hybrid model).
  MTPModuleImpl(const DenseOptions& options, std::int64_t depth);
  void reset() override;
  /// @param previous [B, L, D] h_{k-1} at positions 0 .. L-1. @param ahead [B, L, D] the
  /// embeddings of the tokens k positions later. @return h_k [B, L, D] (before any final norm).
  at::Tensor forward(const at::Tensor& previous, const at::Tensor& ahead, const RotaryTables& rope,
                     bool dropout);

  DenseOptions options;
  std::int64_t depth;
  RMSNorm hidden_norm{nullptr};
  RMSNorm embed_norm{nullptr};
  torch::nn::Linear proj{nullptr};
  DenseBlock block{nullptr};
};
TORCH_MODULE(MTPModule);

/// Maps token ids [B, L] to embeddings, or pre-norm hidden states [B, L, D] to logits.
using TensorMap = std::function<at::Tensor(const at::Tensor&)>;

/// mtp_weight / depth * sum over the modules of the cross-entropy of module k's predictions of
/// tokens[:, k+1 :] at positions 0 .. T-k-2. @param trunk [B, T, D] the main decoder's last
/// block output. @param embed the model's embedding. @param head the model's final norm and
/// output head. A scalar in float32 (float64 for a float64 model); zero when T is too short.
at::Tensor mtp_loss(std::vector<MTPModule>& modules, const at::Tensor& trunk,
                    const at::Tensor& tokens, const TensorMap& embed, const TensorMap& head,
                    const DenseOptions& options, bool dropout);

/// The modules of `options` (mtp_depth of them).
std::vector<MTPModule> make_mtp_modules(const DenseOptions& options);

}  // namespace anvil::nn
