// The layers of the dense decoder (see dense_layers.h).
#include "dense_layers.h"

#include <anvil/torch_compat.h>

#include <ATen/Functions.h>

#include <cmath>
#include <limits>
#include <vector>

namespace anvil::builtin {

RotaryTables rotary_tables(std::int64_t head_dim, double base, std::int64_t offset,
                           std::int64_t length, const at::TensorOptions& options) {
  const at::ScalarType dtype = options.dtype().toScalarType();
  const at::TensorOptions angle_options =
      options.dtype(dtype == at::kDouble ? at::kDouble : at::kFloat);
  // inv_freq[i] = base^(-2i / head_dim), i < head_dim / 2.
  const at::Tensor inv_freq =
      at::pow(base, at::arange(0, head_dim, 2, angle_options) / static_cast<double>(head_dim))
          .reciprocal();
  const at::Tensor positions = at::arange(offset, offset + length, angle_options);
  const at::Tensor half = at::outer(positions, inv_freq);            // [T, head_dim / 2]
  const at::Tensor angles = at::cat({half, half}, -1).unsqueeze(1);  // [T, 1, head_dim]
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables) {
  // rotate_half(x) = [-x2, x1] for x = [x1, x2]: pair i is (x[i], x[i + head_dim/2]).
  const std::vector<at::Tensor> halves = x.chunk(2, -1);
  const at::Tensor rotated = at::cat({halves[1].neg(), halves[0]}, -1);
  return x * tables.cos + rotated * tables.sin;
}

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const std::int64_t T = q.size(2);
  const std::int64_t S = k.size(2);
#if ANVIL_HAS_SDPA
  if (T == S) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
  // is_causal aligns its mask to the top left, which is wrong for queries that follow cached
  // keys; they need the mask spelled out (true = may attend).
  const at::Tensor allowed = at::ones({T, S}, q.options().dtype(at::kBool)).tril(S - T);
  return at::scaled_dot_product_attention(q, k, v, allowed);
#else
  // LibTorch 1.13 has no fused attention. Three batched kernels: the scaled scores with the
  // additive causal mask folded into baddbmm, the softmax, and the weighted sum of values.
  const std::int64_t B = q.size(0), H = q.size(1), hd = q.size(3);
  const at::Tensor masked = at::ones({T, S}, q.options().dtype(at::kBool)).triu(S - T + 1);
  const at::Tensor mask =
      at::zeros({T, S}, q.options()).masked_fill_(masked, -std::numeric_limits<double>::infinity());
  const at::Tensor scores =
      at::baddbmm(mask, q.reshape({B * H, T, hd}), k.reshape({B * H, S, hd}).transpose(1, 2),
                  /*beta=*/1.0, /*alpha=*/1.0 / std::sqrt(static_cast<double>(hd)));
  return at::bmm(at::softmax(scores, -1), v.reshape({B * H, S, hd})).view({B, H, T, hd});
#endif
}

namespace {

torch::nn::Linear linear(std::int64_t in, std::int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

// [B, KV, S, hd] -> [B, KV * times, S, hd], each key/value head repeated for its `times`
// consecutive query heads.
at::Tensor repeat_heads(const at::Tensor& x, std::int64_t times) {
  if (times == 1) return x;
  const std::int64_t B = x.size(0), KV = x.size(1), S = x.size(2), hd = x.size(3);
  return x.unsqueeze(2).expand({B, KV, times, S, hd}).reshape({B, KV * times, S, hd});
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RMSNorm

RMSNormImpl::RMSNormImpl(std::int64_t dim_, double eps_) : dim(dim_), eps(eps_) { reset(); }

void RMSNormImpl::reset() { weight = register_parameter("weight", at::ones({dim})); }

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  // Low-precision inputs are normalised in float32: their squares' mean loses too many bits.
  const at::Tensor xf = x.to(at::promote_types(x.scalar_type(), at::kFloat));
  const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return normed.to(x.scalar_type()) * weight;
}

// ---------------------------------------------------------------------------------------------
// Attention

AttentionImpl::AttentionImpl(const DenseOptions& options_) : options(options_) { reset(); }

void AttentionImpl::reset() {
  const std::int64_t D = options.d_model;
  const std::int64_t kv_width = options.kv_heads() * options.head_dim();
  wq = register_module("wq", linear(D, options.n_heads * options.head_dim()));
  wk = register_module("wk", linear(D, kv_width));
  wv = register_module("wv", linear(D, kv_width));
  wo = register_module("wo", linear(options.n_heads * options.head_dim(), D));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const RotaryTables& rope, KVSlot* cache,
                                  std::int64_t offset) {
  const std::int64_t B = x.size(0), T = x.size(1);
  const std::int64_t H = options.n_heads, KV = options.kv_heads(), hd = options.head_dim();
  // One product for q, k and v (and below, one for w1 and w3) instead of three: on a CPU the
  // BLAS runs one wide matrix faster than several narrow ones (docs/benchmarks.md). The
  // weights stay separate parameters (names, init, checkpoints, export); concatenating them is
  // a copy of D x 3D floats, small next to the [B*T, 3D] activations.
  const at::Tensor qkv = at::linear(x, at::cat({wq->weight, wk->weight, wv->weight}, 0));
  const std::vector<at::Tensor> parts = qkv.split_with_sizes({H * hd, KV * hd, KV * hd}, -1);
  const at::Tensor q = apply_rotary(parts[0].view({B, T, H, hd}), rope).transpose(1, 2);
  at::Tensor k = apply_rotary(parts[1].view({B, T, KV, hd}), rope).transpose(1, 2);
  at::Tensor v = parts[2].view({B, T, KV, hd}).transpose(1, 2);
  if (cache != nullptr) {
    cache->keys.narrow(2, offset, T).copy_(k);
    cache->values.narrow(2, offset, T).copy_(v);
    k = cache->keys.narrow(2, 0, offset + T);
    v = cache->values.narrow(2, 0, offset + T);
  }
  const at::Tensor out = causal_attention(q, repeat_heads(k, H / KV), repeat_heads(v, H / KV));
  return wo->forward(out.transpose(1, 2).reshape({B, T, H * hd}));
}

// ---------------------------------------------------------------------------------------------
// FeedForward

FeedForwardImpl::FeedForwardImpl(const DenseOptions& options_) : options(options_) { reset(); }

void FeedForwardImpl::reset() {
  const std::int64_t D = options.d_model;
  const std::int64_t F = options.ffn_width();
  w1 = register_module("w1", linear(D, F));
  w2 = register_module("w2", linear(F, D));
  w3 = register_module("w3", linear(D, F));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  const std::vector<at::Tensor> gate_up = at::linear(x, at::cat({w1->weight, w3->weight}, 0)).chunk(2, -1);
  return w2->forward(at::silu(gate_up[0]) * gate_up[1]);
}

// ---------------------------------------------------------------------------------------------
// DenseBlock

DenseBlockImpl::DenseBlockImpl(const DenseOptions& options_) : options(options_) { reset(); }

void DenseBlockImpl::reset() {
  attention_norm = register_module("attention_norm", RMSNorm(options.d_model, options.norm_eps));
  attention = register_module("attention", Attention(options));
  ffn_norm = register_module("ffn_norm", RMSNorm(options.d_model, options.norm_eps));
  feed_forward = register_module("feed_forward", FeedForward(options));
}

at::Tensor DenseBlockImpl::forward(const at::Tensor& x, const RotaryTables& rope, bool dropout,
                                   KVSlot* cache, std::int64_t offset) {
  const bool drop = dropout && options.dropout > 0;
  const at::Tensor h =
      x + at::dropout(attention->forward(attention_norm->forward(x), rope, cache, offset),
                      options.dropout, drop);
  return h + at::dropout(feed_forward->forward(ffn_norm->forward(h)), options.dropout, drop);
}

}  // namespace anvil::builtin
