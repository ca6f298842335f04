#include <anvil/nn/attention.h>

#include <anvil/torch_compat.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <cmath>
#include <limits>
#include <vector>

namespace anvil::nn {

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

at::Tensor repeat_heads(const at::Tensor& x, std::int64_t times) {
  if (times == 1) return x;
  const std::int64_t B = x.size(0), KV = x.size(1), S = x.size(2), hd = x.size(3);
  return x.unsqueeze(2).expand({B, KV, times, S, hd}).reshape({B, KV * times, S, hd});
}

GroupedQueryAttentionImpl::GroupedQueryAttentionImpl(const AttentionOptions& options_) : options(options_) {
  reset();
}

void GroupedQueryAttentionImpl::reset() {
  const auto linear = [](std::int64_t in, std::int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  const std::int64_t D = options.d_model;
  const std::int64_t q_width = options.n_heads * options.head_width();
  const std::int64_t kv_width = options.kv_heads() * options.head_width();
  wq = register_module("wq", linear(D, q_width));
  wk = register_module("wk", linear(D, kv_width));
  wv = register_module("wv", linear(D, kv_width));
  wo = register_module("wo", linear(q_width, D));
}

at::Tensor GroupedQueryAttentionImpl::forward(const at::Tensor& x, const RotaryTables& rope, KVSlot* cache,
                                  std::int64_t offset) {
  const std::int64_t B = x.size(0), T = x.size(1);
  const std::int64_t H = options.n_heads, KV = options.kv_heads(), hd = options.head_width();
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

}  // namespace anvil::nn
