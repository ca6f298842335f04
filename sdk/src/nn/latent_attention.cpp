#include <anvil/nn/latent_attention.h>

#include <anvil/nn/attention.h>

#include <anvil/errors.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <vector>

namespace anvil::nn {

namespace {

torch::nn::Linear linear(std::int64_t in, std::int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

}  // namespace

MultiHeadLatentAttentionImpl::MultiHeadLatentAttentionImpl(const LatentAttentionOptions& options_)
    : options(options_) {
  const LatentAttentionOptions& o = options;
  ANVIL_CHECK(o.d_model > 0 && o.n_heads > 0, "latent attention: d_model and n_heads must be positive, got ",
              o.d_model, " and ", o.n_heads);
  ANVIL_CHECK(o.q_lora_rank >= 0, "latent attention: q_lora_rank must be >= 0 (0 = no query compression), got ",
              o.q_lora_rank);
  ANVIL_CHECK(o.kv_lora_rank > 0, "latent attention: kv_lora_rank must be positive, got ", o.kv_lora_rank);
  ANVIL_CHECK(o.qk_nope_head_dim > 0 && o.v_head_dim > 0,
              "latent attention: qk_nope_head_dim and v_head_dim must be positive, got ", o.qk_nope_head_dim,
              " and ", o.v_head_dim);
  // The rotate-half layout pairs feature i with i + width / 2.
  ANVIL_CHECK(o.qk_rope_head_dim > 0 && o.qk_rope_head_dim % 2 == 0,
              "latent attention: qk_rope_head_dim must be positive and even, got ", o.qk_rope_head_dim);
  ANVIL_CHECK(o.norm_eps > 0, "latent attention: norm_eps must be positive, got ", o.norm_eps);
  reset();
}

void MultiHeadLatentAttentionImpl::reset() {
  const LatentAttentionOptions& o = options;
  const std::int64_t D = o.d_model, H = o.n_heads;
  const std::int64_t qk = o.qk_nope_head_dim + o.qk_rope_head_dim;
  if (o.q_lora_rank > 0) {
    wq_a = register_module("wq_a", linear(D, o.q_lora_rank));
    q_norm = register_module("q_norm", RMSNorm(o.q_lora_rank, o.norm_eps));
    wq_b = register_module("wq_b", linear(o.q_lora_rank, H * qk));
  } else {
    wq = register_module("wq", linear(D, H * qk));
  }
  wkv_a = register_module("wkv_a", linear(D, o.kv_lora_rank + o.qk_rope_head_dim));
  kv_norm = register_module("kv_norm", RMSNorm(o.kv_lora_rank, o.norm_eps));
  wkv_b = register_module("wkv_b", linear(o.kv_lora_rank, H * (o.qk_nope_head_dim + o.v_head_dim)));
  wo = register_module("wo", linear(H * o.v_head_dim, D));
}

at::Tensor MultiHeadLatentAttentionImpl::forward(const at::Tensor& x, const RotaryTables& rope, LatentKVSlot* cache,
                                                 std::int64_t offset) {
  const LatentAttentionOptions& o = options;
  ANVIL_CHECK(x.dim() == 3 && x.size(2) == o.d_model, "latent attention: input must be [B, T, ", o.d_model,
              "], got ", x.sizes());
  ANVIL_CHECK(rope.cos.defined() && rope.cos.size(-1) == o.qk_rope_head_dim,
              "latent attention: rotary tables must have width qk_rope_head_dim = ", o.qk_rope_head_dim);
  const std::int64_t B = x.size(0), T = x.size(1), H = o.n_heads, r = o.kv_lora_rank;
  const std::int64_t nope = o.qk_nope_head_dim, pe = o.qk_rope_head_dim, vd = o.v_head_dim;

  // x feeds two projections, the queries' first one and wkv_a: one product instead of two, as
  // GroupedQueryAttention does (a CPU BLAS runs one wide matrix faster than two narrow ones).
  const at::Tensor& q_first = o.q_lora_rank > 0 ? wq_a->weight : wq->weight;
  const std::vector<at::Tensor> parts =
      at::linear(x, at::cat({q_first, wkv_a->weight}, 0)).split_with_sizes({q_first.size(0), r + pe}, -1);
  const at::Tensor q_flat = o.q_lora_rank > 0 ? wq_b->forward(q_norm->forward(parts[0])) : parts[0];
  const std::vector<at::Tensor> q_parts = q_flat.view({B, T, H, nope + pe}).split_with_sizes({nope, pe}, -1);
  const at::Tensor q = at::cat({q_parts[0], apply_rotary(q_parts[1], rope)}, -1).transpose(1, 2);

  const std::vector<at::Tensor> kv_a = parts[1].split_with_sizes({r, pe}, -1);
  at::Tensor latent = kv_norm->forward(kv_a[0]);                          // [B, T, r]
  at::Tensor k_pe = apply_rotary(kv_a[1].unsqueeze(2), rope).squeeze(2);  // [B, T, pe]
  if (cache != nullptr) {
    ANVIL_CHECK(offset >= 0 && offset + T <= cache->latent.size(1), "latent attention: positions [", offset, ", ",
                offset + T, ") do not fit a cache of ", cache->latent.size(1), " tokens");
    cache->latent.narrow(1, offset, T).copy_(latent);
    cache->rope_keys.narrow(1, offset, T).copy_(k_pe);
    latent = cache->latent.narrow(1, 0, offset + T);
    k_pe = cache->rope_keys.narrow(1, 0, offset + T);
  }
  const std::int64_t S = latent.size(1);

  // Keys and values are expanded from the latent at every step (the non-absorbed form): the
  // cache stays small, and the attention kernel sees ordinary per-head keys and values.
  const std::vector<at::Tensor> kv = wkv_b->forward(latent).view({B, S, H, nope + vd}).split_with_sizes({nope, vd}, -1);
  const at::Tensor k = at::cat({kv[0], k_pe.unsqueeze(2).expand({B, S, H, pe})}, -1).transpose(1, 2);
  const at::Tensor out = causal_attention(q, k, kv[1].transpose(1, 2));  // [B, H, T, vd]
  return wo->forward(out.transpose(1, 2).reshape({B, T, H * vd}));
}

LatentKVSlot MultiHeadLatentAttentionImpl::new_slot(std::int64_t batch, std::int64_t max_len,
                                                    const at::TensorOptions& tensor_options) const {
  ANVIL_CHECK(batch > 0 && max_len > 0, "latent attention: a cache slot needs batch and max_len > 0, got ", batch,
              " and ", max_len);
  return {at::zeros({batch, max_len, options.kv_lora_rank}, tensor_options),
          at::zeros({batch, max_len, options.qk_rope_head_dim}, tensor_options)};
}

std::int64_t MultiHeadLatentAttentionImpl::cache_width() const noexcept {
  return options.kv_lora_rank + options.qk_rope_head_dim;
}

}  // namespace anvil::nn
