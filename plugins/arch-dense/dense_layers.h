#pragma once
/// @file dense_layers.h
/// The pre-norm block of the dense decoder, built from the SDK's shared layers
/// (<anvil/nn/...>: RMSNorm, rotary positions, grouped-query attention, SwiGLU). No layer has a
/// bias.

#include "dense_options.h"

#include <anvil/nn/attention.h>
#include <anvil/nn/mlp.h>
#include <anvil/nn/norm.h>
#include <anvil/nn/rotary.h>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace anvil::builtin {

using nn::KVSlot;
using nn::RMSNorm;
using nn::RotaryTables;
using nn::rotary_tables;

/// The attention shape of `options`.
nn::AttentionOptions attention_options(const DenseOptions& options);

/// Pre-norm decoder block: x + attention(norm(x)), then h + feed_forward(norm(h)). Parameter
/// names: attention_norm.weight, attention.{wq,wk,wv,wo}.weight, ffn_norm.weight,
/// feed_forward.{w1,w2,w3}.weight.
class DenseBlockImpl : public torch::nn::Cloneable<DenseBlockImpl> {
 public:
  explicit DenseBlockImpl(const DenseOptions& options);
  void reset() override;
  /// @param x [B, T, D]. @param dropout whether to apply options.dropout to each branch
  /// before its residual add. `cache` and `offset` as for GroupedQueryAttentionImpl::forward.
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rope, bool dropout,
                     KVSlot* cache = nullptr, std::int64_t offset = 0);

  DenseOptions options;
  RMSNorm attention_norm{nullptr};
  nn::GroupedQueryAttention attention{nullptr};
  RMSNorm ffn_norm{nullptr};
  nn::SwiGLU feed_forward{nullptr};
};
TORCH_MODULE(DenseBlock);

}  // namespace anvil::builtin
