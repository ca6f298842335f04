#pragma once
/// @file dense_layers.h
/// The layers of the dense decoder: RMSNorm, rotary position embeddings, grouped-query causal
/// attention, the SwiGLU MLP, and the pre-norm block that chains them. No layer has a bias.

#include "dense_options.h"

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace anvil::builtin {

/// cos and sin of the rotary angles of a run of positions, each [T, 1, head_dim] so that they
/// broadcast over [B, T, H, head_dim]. Rotate-half layout (Llama in Hugging Face): feature i
/// and feature i + head_dim/2 form pair i, turned by position * rope_base^(-2i/head_dim).
struct RotaryTables {
  at::Tensor cos;  ///< [T, 1, head_dim]
  at::Tensor sin;  ///< [T, 1, head_dim]
};

/// The tables of positions offset .. offset + length - 1, in options' dtype and device. The
/// angles are computed in float32 (float64 for a float64 model) before the cast, so that
/// bf16 models still get accurate angles at large positions.
RotaryTables rotary_tables(std::int64_t head_dim, double base, std::int64_t offset,
                           std::int64_t length, const at::TensorOptions& options);

/// x rotated by the tables' angles. @param x [B, T, H, head_dim].
at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables);

/// softmax(q k^T / sqrt(head_dim), causal) v, where the T queries are the last T of the S
/// key positions (S = T for a full pass; S > T when decoding after cached tokens), so query i
/// sees keys 0 .. S - T + i. @param q [B, H, T, hd] @param k, v [B, H, S, hd]
/// @return [B, H, T, hd]. Uses scaled_dot_product_attention where LibTorch has it.
at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

/// One layer's cached keys and values (after the rotary embedding, before repeating heads).
struct KVSlot {
  at::Tensor keys;    ///< [B, n_kv_heads, max_len, head_dim]
  at::Tensor values;  ///< [B, n_kv_heads, max_len, head_dim]
};

/// Root-mean-square norm: x / sqrt(mean(x^2) + eps) * weight, over the last dimension.
class RMSNormImpl : public torch::nn::Cloneable<RMSNormImpl> {
 public:
  RMSNormImpl(std::int64_t dim, double eps);
  /// (Re)creates the gain, initialised to 1.
  void reset() override;
  /// @param x [..., dim]. Normalised in float32 at least, returned in x's dtype.
  at::Tensor forward(const at::Tensor& x);

  std::int64_t dim;
  double eps;
  at::Tensor weight;  ///< [dim]
};
TORCH_MODULE(RMSNorm);

/// Grouped-query self-attention with rotary positions: n_heads query heads share n_kv_heads
/// key/value heads (each serving n_heads / n_kv_heads consecutive query heads).
class AttentionImpl : public torch::nn::Cloneable<AttentionImpl> {
 public:
  explicit AttentionImpl(const DenseOptions& options);
  void reset() override;
  /// @param x [B, T, D] at the positions `rope` was made for. Without a cache, attends
  /// causally within x. With one, writes x's keys and values at [offset, offset + T) of `cache`
  /// and attends over its positions [0, offset + T). @return [B, T, D].
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rope, KVSlot* cache = nullptr,
                     std::int64_t offset = 0);

  DenseOptions options;
  torch::nn::Linear wq{nullptr};  ///< D -> n_heads * head_dim
  torch::nn::Linear wk{nullptr};  ///< D -> n_kv_heads * head_dim
  torch::nn::Linear wv{nullptr};  ///< D -> n_kv_heads * head_dim
  torch::nn::Linear wo{nullptr};  ///< n_heads * head_dim -> D
};
TORCH_MODULE(Attention);

/// SwiGLU MLP: w2(silu(w1 x) * w3 x).
class FeedForwardImpl : public torch::nn::Cloneable<FeedForwardImpl> {
 public:
  explicit FeedForwardImpl(const DenseOptions& options);
  void reset() override;
  /// @param x [B, T, D]. @return [B, T, D].
  at::Tensor forward(const at::Tensor& x);

  DenseOptions options;
  torch::nn::Linear w1{nullptr};  ///< D -> ffn_width (gate)
  torch::nn::Linear w2{nullptr};  ///< ffn_width -> D
  torch::nn::Linear w3{nullptr};  ///< D -> ffn_width (up)
};
TORCH_MODULE(FeedForward);

/// Pre-norm decoder block: x + attention(norm(x)), then h + feed_forward(norm(h)).
class DenseBlockImpl : public torch::nn::Cloneable<DenseBlockImpl> {
 public:
  explicit DenseBlockImpl(const DenseOptions& options);
  void reset() override;
  /// @param x [B, T, D]. @param dropout whether to apply options.dropout to each branch
  /// before its residual add. `cache` and `offset` as for AttentionImpl::forward.
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rope, bool dropout,
                     KVSlot* cache = nullptr, std::int64_t offset = 0);

  DenseOptions options;
  RMSNorm attention_norm{nullptr};
  Attention attention{nullptr};
  RMSNorm ffn_norm{nullptr};
  FeedForward feed_forward{nullptr};
};
TORCH_MODULE(DenseBlock);

}  // namespace anvil::builtin
