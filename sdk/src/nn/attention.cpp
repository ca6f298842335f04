#include <anvil/nn/attention.h>

#include <anvil/errors.h>
#include <anvil/torch_compat.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <algorithm>
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
  const std::int64_t B = q.size(0), H = q.size(1), hd = q.size(3), vd = v.size(3);
  const at::Tensor masked = at::ones({T, S}, q.options().dtype(at::kBool)).triu(S - T + 1);
  const at::Tensor mask =
      at::zeros({T, S}, q.options()).masked_fill_(masked, -std::numeric_limits<double>::infinity());
  const at::Tensor scores =
      at::baddbmm(mask, q.reshape({B * H, T, hd}), k.reshape({B * H, S, hd}).transpose(1, 2),
                  /*beta=*/1.0, /*alpha=*/1.0 / std::sqrt(static_cast<double>(hd)));
  return at::bmm(at::softmax(scores, -1), v.reshape({B * H, S, vd})).view({B, H, T, vd});
#endif
}

namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

/// T <= window queries after S - T keys: the [T, S] scores are at most [window, 2 window - 1]
/// once the caller has dropped the keys no query can see, so the band is spelled out.
at::Tensor banded_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t window) {
  const std::int64_t T = q.size(2), S = k.size(2);
  const at::Tensor ones = at::ones({T, S}, q.options().dtype(at::kBool));
  // Masked: keys after the query (c > S - T + i) and keys that left its window
  // (c <= S - T + i - window).
  const at::Tensor masked = at::logical_or(ones.triu(S - T + 1), ones.tril(S - T - window));
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  at::Tensor scores = at::matmul(q * scale, k.transpose(-1, -2));
  scores.masked_fill_(masked, kMinusInfinity);
  return at::matmul(at::softmax(scores, -1), v);
}

/// T > window queries after P = S - T keys, P < window: blocks of `window` queries, each scored
/// against its own block of keys and the one before ([window, 2 window] per block).
at::Tensor blocked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t window) {
  const std::int64_t B = q.size(0), H = q.size(1), T = q.size(2), hd = q.size(3), S = k.size(2);
  const std::int64_t w = window, P = S - T;
  const std::int64_t nb = (T + w - 1) / w, padded = nb * w;
  // Query j * w + r sits at key position P + j * w + r. Padding the keys on the left by w - P
  // puts the keys of block j's window at padded positions [j * w, j * w + 2w) for every j,
  // block 0 included, so all blocks have the same shape and band. Padding on the right rounds
  // T up to whole blocks; those keys follow every real query, so the causal band hides them,
  // and each padded query still sees itself (no all -inf row, no NaN anywhere).
  const at::Tensor qb = at::constant_pad_nd(q, {0, 0, 0, padded - T}).view({B, H, nb, w, hd});
  const auto key_blocks = [&](const at::Tensor& x) {
    const at::Tensor blocks = at::constant_pad_nd(x, {0, 0, w - P, padded - T}).view({B, H, nb + 1, w, hd});
    return at::cat({blocks.narrow(2, 0, nb), blocks.narrow(2, 1, nb)}, 3);  // [B, H, nb, 2w, hd]
  };
  const at::Tensor kb = key_blocks(k), vb = key_blocks(v);

  // Query r of a block may see key c of its [2w] keys iff r + 1 <= c <= r + w (key position
  // minus query position in [1 - w, 0]); the left padding lies below position 0 of the keys.
  const at::TensorOptions longs = q.options().dtype(at::kLong);
  const at::Tensor r = at::arange(w, longs).view({w, 1});
  const at::Tensor c = at::arange(2 * w, longs).view({1, 2 * w});
  const at::Tensor band = at::logical_or(c < r + 1, c > r + w);
  const at::Tensor key_position = at::arange(nb, longs).view({nb, 1, 1}) * w + c + (P - w);
  const at::Tensor masked = at::logical_or(band, key_position < 0);  // [nb, w, 2w]

  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  at::Tensor scores = at::matmul(qb * scale, kb.transpose(-1, -2));  // [B, H, nb, w, 2w]
  // In place: matmul keeps its inputs for the backward pass, not its output.
  scores.masked_fill_(masked, kMinusInfinity);
  return at::matmul(at::softmax(scores, -1), vb).view({B, H, padded, hd}).narrow(2, 0, T);
}

}  // namespace

at::Tensor sliding_window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    std::int64_t window) {
  ANVIL_CHECK(window >= 1, "sliding_window_attention: window must be at least 1, got ", window);
  ANVIL_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
              "sliding_window_attention: q, k, v must be [B, H, T or S, head_dim], got ", q.sizes(), ", ",
              k.sizes(), ", ", v.sizes());
  ANVIL_CHECK(k.sizes() == v.sizes() && k.size(2) >= q.size(2),
              "sliding_window_attention: k and v must be [B, H, S, head_dim] with S >= T, got q ", q.sizes(),
              ", k ", k.sizes(), ", v ", v.sizes());
  const std::int64_t T = q.size(2), S = k.size(2);
  // The first query (position S - T) sees back to S - T - window + 1: older keys are dead for
  // all of them, and dropping them is a view.
  const std::int64_t kept = std::min(S, T + window - 1);
  const at::Tensor k_kept = k.narrow(2, S - kept, kept), v_kept = v.narrow(2, S - kept, kept);
  if (window >= kept) return causal_attention(q, k_kept, v_kept);  // the window covers everything
  if (T <= window) return banded_attention(q, k_kept, v_kept, window);
  return blocked_attention(q, k_kept, v_kept, window);
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
  at::Tensor out;
  if (options.window > 0) {
    // Only the last T + window - 1 positions are visible to these queries; dropping the rest
    // before repeat_heads keeps a long cache from being copied H / KV times per decode step.
    const std::int64_t S = k.size(2), kept = std::min(S, T + options.window - 1);
    out = sliding_window_attention(q, repeat_heads(k.narrow(2, S - kept, kept), H / KV),
                                   repeat_heads(v.narrow(2, S - kept, kept), H / KV), options.window);
  } else {
    out = causal_attention(q, repeat_heads(k, H / KV), repeat_heads(v, H / KV));
  }
  return wo->forward(out.transpose(1, 2).reshape({B, T, H * hd}));
}

}  // namespace anvil::nn
