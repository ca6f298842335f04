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

/// The attention shape of layer `layer` of `options`: sliding-window when it is a local layer.
nn::AttentionOptions attention_options(const DenseOptions& options, std::int64_t layer = 0);

/// The global branch of a hybrid local layer: global_heads full-attention heads of head_dim.
nn::AttentionOptions global_branch_options(const DenseOptions& options);

/// Whether layer `layer` has a global branch beside its local attention.
bool has_global_branch(const DenseOptions& options, std::int64_t layer);

/// One layer's decoding state: its attention's keys and values, and its global branch's.
struct LayerCache {
  KVSlot attention;
  KVSlot global;  ///< empty without a global branch
};

/// Pre-norm decoder block: x + attention(norm(x)), then h + feed_forward(norm(h)). A hybrid
/// local layer with a global branch adds global_attention(norm(x)) to the first residual:
/// h = x + local(norm(x)) + global(norm(x)). Parameter names: attention_norm.weight,
/// attention.{wq,wk,wv,wo}.weight, [global_attention.{wq,wk,wv,wo}.weight,] ffn_norm.weight,
/// feed_forward.{w1,w2,w3}.weight.
class DenseBlockImpl : public torch::nn::Cloneable<DenseBlockImpl> {
 public:
  /// Block number `layer` (0-based) of a decoder with `options`.
  explicit DenseBlockImpl(const DenseOptions& options, std::int64_t layer = 0);
  void reset() override;
  /// @param x [B, T, D]. @param dropout whether to apply options.dropout to each branch
  /// before its residual add. `cache` and `offset` as for GroupedQueryAttentionImpl::forward,
  /// one slot per attention.
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rope, bool dropout,
                     LayerCache* cache = nullptr, std::int64_t offset = 0);

  DenseOptions options;
  std::int64_t layer;
  RMSNorm attention_norm{nullptr};
  nn::GroupedQueryAttention attention{nullptr};
  nn::GroupedQueryAttention global_attention{nullptr};  ///< empty unless has_global_branch
  RMSNorm ffn_norm{nullptr};
  nn::SwiGLU feed_forward{nullptr};
};
TORCH_MODULE(DenseBlock);

}  // namespace anvil::builtin
