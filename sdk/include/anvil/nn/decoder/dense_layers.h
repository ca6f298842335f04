#pragma once
/// @file dense_layers.h
/// The pre-norm block of the dense decoder, built from the SDK's shared layers
/// (<anvil/nn/...>: RMSNorm, rotary positions, grouped-query attention, SwiGLU). No layer has a
/// bias.

#include <anvil/nn/decoder/dense_options.h>

#include <anvil/nn/attention.h>
#include <anvil/nn/latent_attention.h>
#include <anvil/nn/mlp.h>
#include <anvil/nn/norm.h>
#include <anvil/nn/rotary.h>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace anvil::nn {

using nn::KVSlot;
using nn::RMSNorm;
using nn::RotaryTables;
using nn::rotary_tables;

/// The attention shape of layer `layer` of `options`: sliding-window when it is a local layer.
nn::AttentionOptions attention_options(const DenseOptions& options, std::int64_t layer = 0);

/// The global branch of a hybrid local layer: global_heads full-attention heads of head_dim.
nn::AttentionOptions global_branch_options(const DenseOptions& options);

/// The latent attention shape of `options` (attention = "mla").
nn::LatentAttentionOptions latent_attention_options(const DenseOptions& options);

/// One layer's decoding state: its attention's keys and values (or latents), and its global
/// branch's.
struct LayerCache {
  KVSlot attention;          ///< grouped-query attention; empty with MLA
  nn::LatentKVSlot latent;   ///< MLA; empty otherwise
  KVSlot global;             ///< empty without a global branch
};

/// The block's attention of `x`: `latent` when it is set, else `attention`, plus the global
/// branch when there is one, with the matching slots of `cache`.
at::Tensor attend(nn::GroupedQueryAttention& attention, nn::MultiHeadLatentAttention& latent,
                  nn::GroupedQueryAttention& global, const at::Tensor& x, const RotaryTables& rope,
                  LayerCache* cache, std::int64_t offset);

/// Pre-norm decoder block: x + attention(norm(x)), then h + feed_forward(norm(h)). A hybrid
/// local layer with a global branch adds global_attention(norm(x)) to the first residual:
/// h = x + local(norm(x)) + global(norm(x)). Parameter names: attention_norm.weight,
/// attention.{wq,wk,wv,wo}.weight, [global_attention.{wq,wk,wv,wo}.weight,] ffn_norm.weight,
/// feed_forward.{w1,w2,w3}.weight. With attention = "mla" the attention is a
/// MultiHeadLatentAttention, registered as "attention" too (attention.{wq,wkv_a,...}).
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
  nn::GroupedQueryAttention attention{nullptr};          ///< empty with MLA
  nn::MultiHeadLatentAttention latent_attention{nullptr};  ///< set with MLA
  nn::GroupedQueryAttention global_attention{nullptr};  ///< empty unless options.has_global_branch(layer)
  RMSNorm ffn_norm{nullptr};
  nn::SwiGLU feed_forward{nullptr};
};
TORCH_MODULE(DenseBlock);

}  // namespace anvil::nn
