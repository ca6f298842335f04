#pragma once
/// @file attention.h
/// Causal self-attention for the architecture plugins: the attention kernel, the per-layer KV
/// cache slot, and grouped-query attention with rotary positions.

#include <anvil/export.h>
#include <anvil/nn/rotary.h>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace anvil::nn {

/// softmax(q k^T / sqrt(head_dim), causal) v, where the T queries are the last T of the S
/// key positions (S = T for a full pass; S > T when decoding after cached tokens), so query i
/// sees keys 0 .. S - T + i. @param q, k [B, H, T or S, hd] @param v [B, H, S, vd]: values
/// may be narrower or wider than queries and keys (latent attention's are).
/// @return [B, H, T, vd]. Uses scaled_dot_product_attention where LibTorch has it.
ANVIL_SDK_API at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

/// Causal attention restricted to a sliding window: the query at absolute position p (p = S - T
/// + i, aligned as in causal_attention) sees only keys max(0, p - window + 1) .. p, at most
/// `window` keys, itself included. Costs O(T * window) memory and compute, never a [T, S] score
/// matrix: more than `window` queries are cut into blocks of `window` that each attend over
/// their own and the previous block's keys; fewer (a decode step) attend over the last
/// T + window - 1 keys directly. Differentiable; equals causal_attention when window >= S.
/// @param q [B, H, T, hd] @param k, v [B, H, S, hd], S >= T @param window >= 1
/// @return [B, H, T, hd]
/// @throws anvil::Error when window < 1 or the shapes disagree.
ANVIL_SDK_API at::Tensor sliding_window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                  std::int64_t window);

/// [B, KV, S, hd] -> [B, KV * times, S, hd], each key/value head repeated for its `times`
/// consecutive query heads.
ANVIL_SDK_API at::Tensor repeat_heads(const at::Tensor& x, std::int64_t times);

/// One layer's cached keys and values (after the rotary embedding, before repeating heads).
struct KVSlot {
  at::Tensor keys;    ///< [B, n_kv_heads, max_len, head_dim]
  at::Tensor values;  ///< [B, n_kv_heads, max_len, head_dim]
};

/// Shape of a grouped-query attention layer.
struct AttentionOptions {
  std::int64_t d_model = 0;     ///< input and output width
  std::int64_t n_heads = 0;     ///< query heads
  std::int64_t n_kv_heads = 0;  ///< key/value heads, dividing n_heads; 0 means n_heads
  std::int64_t head_dim = 0;    ///< width of a head; 0 means d_model / n_heads
  std::int64_t window = 0;      ///< sliding-window width of local attention; 0 = full causal attention
  /// Key/value heads with 0 resolved.
  std::int64_t kv_heads() const noexcept { return n_kv_heads == 0 ? n_heads : n_kv_heads; }
  /// Head width with 0 resolved.
  std::int64_t head_width() const noexcept { return head_dim == 0 ? d_model / n_heads : head_dim; }
};

/// Grouped-query self-attention with rotary positions: n_heads query heads share n_kv_heads
/// key/value heads (each serving n_heads / n_kv_heads consecutive query heads). No biases.
/// With options.window > 0 each position attends only to the last `window` positions, itself
/// included (sliding_window_attention); the KV cache still holds every position.
/// Parameters: wq.weight, wk.weight, wv.weight, wo.weight.
class ANVIL_SDK_API GroupedQueryAttentionImpl : public torch::nn::Cloneable<GroupedQueryAttentionImpl> {
 public:
  /// A layer of the given shape.
  explicit GroupedQueryAttentionImpl(const AttentionOptions& options);
  /// (Re)creates the four projections (LibTorch's default initialisation).
  void reset() override;
  /// @param x [B, T, D] at the positions `rope` was made for. Without a cache, attends
  /// causally within x. With one, writes x's keys and values at [offset, offset + T) of `cache`
  /// and attends over its positions [0, offset + T). @return [B, T, D].
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rope, KVSlot* cache = nullptr,
                     std::int64_t offset = 0);

  AttentionOptions options;       ///< the layer's shape
  torch::nn::Linear wq{nullptr};  ///< D -> n_heads * head_dim
  torch::nn::Linear wk{nullptr};  ///< D -> n_kv_heads * head_dim
  torch::nn::Linear wv{nullptr};  ///< D -> n_kv_heads * head_dim
  torch::nn::Linear wo{nullptr};  ///< n_heads * head_dim -> D
};
TORCH_MODULE(GroupedQueryAttention);

}  // namespace anvil::nn
