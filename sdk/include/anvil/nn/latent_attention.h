#pragma once
/// @file latent_attention.h
/// Multi-head latent attention (MLA) of DeepSeek-V2/V3: keys and values are expanded per head
/// from one low-rank latent per token, and positions enter through a small rotary key shared
/// by all heads, so a decoding cache holds only kv_lora_rank + qk_rope_head_dim elements per
/// token instead of 2 * n_heads * head_dim.

#include <anvil/export.h>
#include <anvil/nn/norm.h>
#include <anvil/nn/rotary.h>

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace anvil::nn {

/// Shape of a multi-head latent attention layer (names as in DeepSeek-V2's configuration).
struct LatentAttentionOptions {
  std::int64_t d_model = 0;  ///< input and output width
  std::int64_t n_heads = 0;  ///< attention heads
  /// Rank of the query compression: 0 projects queries straight from x (wq); > 0 goes through
  /// wq_a, q_norm and wq_b.
  std::int64_t q_lora_rank = 0;
  std::int64_t kv_lora_rank = 0;      ///< width of the compressed key/value latent (> 0)
  std::int64_t qk_nope_head_dim = 0;  ///< per-head query/key width without positions (> 0)
  std::int64_t qk_rope_head_dim = 0;  ///< per-head width of the decoupled rotary part (even, > 0)
  std::int64_t v_head_dim = 0;        ///< per-head value width (> 0)
  double norm_eps = 1e-6;             ///< eps of q_norm and kv_norm
};

/// One layer's decoding cache: only the normalised latent and the rotated shared key; the
/// per-head keys and values are recomputed from them by wkv_b at every step.
struct LatentKVSlot {
  at::Tensor latent;     ///< [B, max_len, kv_lora_rank], after kv_norm
  at::Tensor rope_keys;  ///< [B, max_len, qk_rope_head_dim], after the rotary embedding
};

/// Multi-head latent attention, the non-absorbed ("naive") form of DeepSeek-V2's reference
/// code: per head, the query is [q_nope, rope(q_pe)] and the key [k_nope, rope(k_pe)], where
/// k_nope and the value come from wkv_b(kv_norm(latent)) and k_pe is one rotary key shared by
/// all heads. Scores are scaled by 1 / sqrt(qk_nope_head_dim + qk_rope_head_dim). No biases.
/// Parameters: wq.weight or wq_a.weight, q_norm.weight, wq_b.weight; wkv_a.weight,
/// kv_norm.weight, wkv_b.weight, wo.weight.
class ANVIL_SDK_API MultiHeadLatentAttentionImpl : public torch::nn::Cloneable<MultiHeadLatentAttentionImpl> {
 public:
  /// A layer of the given shape. @throws anvil::Error when a width is not positive (q_lora_rank
  /// may be 0), qk_rope_head_dim is odd or norm_eps is not positive.
  explicit MultiHeadLatentAttentionImpl(const LatentAttentionOptions& options);
  /// (Re)creates the projections (LibTorch's default initialisation) and the norms (gain 1).
  void reset() override;
  /// @param x [B, T, D] at the positions `rope` was made for (tables of width
  /// qk_rope_head_dim). Without a cache, attends causally within x. With one, writes x's
  /// latents and rotary keys at [offset, offset + T) of `cache` and attends over its positions
  /// [0, offset + T). @return [B, T, D].
  /// @throws anvil::Error when x is not [B, T, d_model] or [offset, offset + T) is outside the cache.
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rope, LatentKVSlot* cache = nullptr,
                     std::int64_t offset = 0);
  /// An empty (zeroed) cache slot for `batch` sequences of up to `max_len` tokens, with
  /// `options`' dtype and device.
  LatentKVSlot new_slot(std::int64_t batch, std::int64_t max_len, const at::TensorOptions& options) const;
  /// Elements cached per token: kv_lora_rank + qk_rope_head_dim (against 2 * n_heads *
  /// head_dim for multi-head attention).
  std::int64_t cache_width() const noexcept;

  LatentAttentionOptions options;    ///< the layer's shape
  torch::nn::Linear wq{nullptr};     ///< D -> H * (nope + rope), when q_lora_rank == 0
  torch::nn::Linear wq_a{nullptr};   ///< D -> q_lora_rank, when q_lora_rank > 0
  RMSNorm q_norm{nullptr};           ///< over q_lora_rank, when q_lora_rank > 0
  torch::nn::Linear wq_b{nullptr};   ///< q_lora_rank -> H * (nope + rope), when q_lora_rank > 0
  torch::nn::Linear wkv_a{nullptr};  ///< D -> kv_lora_rank + rope: the latent and the shared rotary key
  RMSNorm kv_norm{nullptr};          ///< over kv_lora_rank
  torch::nn::Linear wkv_b{nullptr};  ///< kv_lora_rank -> H * (nope + v_head_dim)
  torch::nn::Linear wo{nullptr};     ///< H * v_head_dim -> D
};
TORCH_MODULE(MultiHeadLatentAttention);

}  // namespace anvil::nn
