// Multi-head latent attention (DeepSeek-V2/V3) against its formulas written out with plain
// tensor ops (float64, explicit [T, T] causal mask, rotary by hand), decoding through the
// latent cache against the full pass, the cache's size, causality, and option validation.
#include <anvil/errors.h>
#include <anvil/nn/attention.h>
#include <anvil/nn/latent_attention.h>
#include <anvil/nn/rotary.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

using namespace anvil::nn;

namespace {

constexpr double kBase = 10000.0;

/// Small widths chosen so that no two coincide: a swapped split or view shows up as a shape
/// error or a wrong value. v_head_dim differs from nope + rope, as in DeepSeek-V2 (128 vs 192).
LatentAttentionOptions small_options(std::int64_t q_lora_rank, std::int64_t v_head_dim = 6) {
  LatentAttentionOptions o;
  o.d_model = 20;
  o.n_heads = 3;
  o.q_lora_rank = q_lora_rank;
  o.kv_lora_rank = 10;
  o.qk_nope_head_dim = 8;
  o.qk_rope_head_dim = 4;
  o.v_head_dim = v_head_dim;
  return o;
}

/// A float64 layer whose norm gains are random too, so that a skipped norm is caught.
MultiHeadLatentAttention make_layer(const LatentAttentionOptions& options) {
  MultiHeadLatentAttention layer(options);
  layer->to(at::kDouble);
  at::NoGradGuard no_grad;
  layer->kv_norm->weight.uniform_(0.5, 1.5);
  if (options.q_lora_rank > 0) layer->q_norm->weight.uniform_(0.5, 1.5);
  return layer;
}

RotaryTables tables(const LatentAttentionOptions& o, std::int64_t offset, std::int64_t length) {
  return rotary_tables(o.qk_rope_head_dim, kBase, offset, length, at::TensorOptions().dtype(at::kDouble));
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& gain, double eps) {
  return x / (x.pow(2).mean(-1, true) + eps).sqrt() * gain;
}

/// Rotate-half rotary at positions 0 .. T - 1: pair (x[i], x[i + d/2]) turned by
/// t * base^(-2i/d). @param x [B, T, H, d]
at::Tensor rotate(const at::Tensor& x) {
  const std::int64_t T = x.size(1), d = x.size(3);
  const at::Tensor inv_freq = at::pow(kBase, -at::arange(0, d, 2, at::kDouble) / static_cast<double>(d));
  const at::Tensor angles = at::outer(at::arange(T, at::kDouble), inv_freq);  // [T, d/2]
  const at::Tensor cos = angles.cos().view({T, 1, d / 2}), sin = angles.sin().view({T, 1, d / 2});
  const at::Tensor x1 = x.narrow(-1, 0, d / 2), x2 = x.narrow(-1, d / 2, d / 2);
  return at::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);
}

/// DeepSeek-V2's MLA (non-absorbed) from the layer's weights, one full causal pass.
at::Tensor reference(MultiHeadLatentAttentionImpl& m, const at::Tensor& x) {
  const LatentAttentionOptions& o = m.options;
  const std::int64_t B = x.size(0), T = x.size(1), H = o.n_heads;
  const std::int64_t nope = o.qk_nope_head_dim, pe = o.qk_rope_head_dim, vd = o.v_head_dim, r = o.kv_lora_rank;
  const at::Tensor q_flat =
      o.q_lora_rank > 0
          ? at::matmul(rms_norm(at::matmul(x, m.wq_a->weight.t()), m.q_norm->weight, o.norm_eps), m.wq_b->weight.t())
          : at::matmul(x, m.wq->weight.t());
  const at::Tensor q4 = q_flat.view({B, T, H, nope + pe});
  const at::Tensor q = at::cat({q4.narrow(-1, 0, nope), rotate(q4.narrow(-1, nope, pe))}, -1);  // [B, T, H, qk]

  const at::Tensor kv_a = at::matmul(x, m.wkv_a->weight.t());
  const at::Tensor latent = rms_norm(kv_a.narrow(-1, 0, r), m.kv_norm->weight, o.norm_eps);
  const at::Tensor k_pe = rotate(kv_a.narrow(-1, r, pe).view({B, T, 1, pe}));  // [B, T, 1, pe]
  const at::Tensor kv = at::matmul(latent, m.wkv_b->weight.t()).view({B, T, H, nope + vd});
  const at::Tensor k = at::cat({kv.narrow(-1, 0, nope), k_pe.expand({B, T, H, pe})}, -1);
  const at::Tensor v = kv.narrow(-1, nope, vd);

  // scores[b, h, i, j] = q_i . k_j / sqrt(nope + pe), keys after the query masked out.
  const at::Tensor scores = at::einsum("bihd,bjhd->bhij", {q, k}) / std::sqrt(static_cast<double>(nope + pe));
  const at::Tensor future = at::ones({T, T}, at::kBool).triu(1);
  const at::Tensor weights = scores.masked_fill(future, -std::numeric_limits<double>::infinity()).softmax(-1);
  const at::Tensor out = at::einsum("bhij,bjhd->bihd", {weights, v}).reshape({B, T, H * vd});
  return at::matmul(out, m.wo->weight.t());
}

double max_difference(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST_CASE("latent attention maps [B, T, D] to [B, T, D] with and without query compression", "[sdk][nn][mla]") {
  at::manual_seed(21);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({2, 5, 20}, at::kDouble);
  for (const std::int64_t q_lora_rank : {0, 7}) {
    CAPTURE(q_lora_rank);
    MultiHeadLatentAttention layer = make_layer(small_options(q_lora_rank));
    const at::Tensor y = layer->forward(x, tables(layer->options, 0, 5));
    CHECK(y.sizes() == x.sizes());
    CHECK(layer->wkv_a->weight.sizes() == at::IntArrayRef({10 + 4, 20}));
    CHECK(layer->wkv_b->weight.sizes() == at::IntArrayRef({3 * (8 + 6), 10}));
    CHECK(layer->wo->weight.sizes() == at::IntArrayRef({20, 3 * 6}));
    if (q_lora_rank == 0) {
      CHECK(layer->named_parameters().size() == 5);  // wq, wkv_a, kv_norm, wkv_b, wo
      CHECK(layer->wq->weight.sizes() == at::IntArrayRef({3 * 12, 20}));
      CHECK(layer->wq_a.is_empty());
    } else {
      CHECK(layer->named_parameters().size() == 7);  // wq_a, q_norm, wq_b, wkv_a, kv_norm, wkv_b, wo
      CHECK(layer->wq_a->weight.sizes() == at::IntArrayRef({7, 20}));
      CHECK(layer->wq_b->weight.sizes() == at::IntArrayRef({3 * 12, 7}));
      CHECK(layer->wq.is_empty());
    }
    // Cloneable's deep copy rebuilds the same submodules and copies the weights.
    const auto copy = std::dynamic_pointer_cast<MultiHeadLatentAttentionImpl>(layer->clone());
    REQUIRE(copy);
    CHECK(at::equal(copy->forward(x, tables(layer->options, 0, 5)), y));
  }
}

TEST_CASE("latent attention equals the DeepSeek-V2 formulas written out", "[sdk][nn][mla]") {
  at::manual_seed(22);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({2, 7, 20}, at::kDouble);
  // Values narrower than the queries and keys (6 < 12), and wider (16 > 12).
  for (const std::int64_t q_lora_rank : {0, 7})
    for (const std::int64_t v_head_dim : {6, 16}) {
      CAPTURE(q_lora_rank, v_head_dim);
      MultiHeadLatentAttention layer = make_layer(small_options(q_lora_rank, v_head_dim));
      const at::Tensor y = layer->forward(x, tables(layer->options, 0, 7));
      CHECK(max_difference(y, reference(*layer, x)) < 1e-12);
    }
}

TEST_CASE("latent attention decoding through its latent cache equals the full pass", "[sdk][nn][mla]") {
  at::manual_seed(23);
  at::NoGradGuard no_grad;
  const std::int64_t B = 2, T = 9;
  const at::Tensor x = at::randn({B, T, 20}, at::kDouble);
  const at::TensorOptions f64 = at::TensorOptions().dtype(at::kDouble);
  for (const std::int64_t q_lora_rank : {0, 7}) {
    CAPTURE(q_lora_rank);
    MultiHeadLatentAttention layer = make_layer(small_options(q_lora_rank));
    const LatentAttentionOptions& o = layer->options;
    const at::Tensor full = layer->forward(x, tables(o, 0, T));

    // A prefix of `first` tokens in one call, then one token at a time.
    for (const std::int64_t first : {1, 4}) {
      CAPTURE(first);
      LatentKVSlot slot = layer->new_slot(B, T + 3, f64);
      std::vector<at::Tensor> outputs = {layer->forward(x.narrow(1, 0, first), tables(o, 0, first), &slot, 0)};
      for (std::int64_t t = first; t < T; ++t)
        outputs.push_back(layer->forward(x.narrow(1, t, 1), tables(o, t, 1), &slot, t));
      CHECK(max_difference(at::cat(outputs, 1), full) < 1e-10);
      // The cache filled one step at a time holds what one cached pass writes; the spare
      // positions stay zero.
      LatentKVSlot whole = layer->new_slot(B, T + 3, f64);
      CHECK(max_difference(layer->forward(x, tables(o, 0, T), &whole, 0), full) < 1e-10);
      CHECK(max_difference(slot.latent, whole.latent) < 1e-12);
      CHECK(max_difference(slot.rope_keys, whole.rope_keys) < 1e-12);
      CHECK(slot.latent.narrow(1, T, 3).abs().max().item<double>() == 0.0);
    }
  }
}

TEST_CASE("the latent cache holds kv_lora_rank + rope elements per token, fewer than GQA's", "[sdk][nn][mla]") {
  MultiHeadLatentAttention layer(small_options(0));
  const std::int64_t B = 2, max_len = 16;
  const LatentKVSlot slot = layer->new_slot(B, max_len, at::TensorOptions().dtype(at::kFloat));
  CHECK(slot.latent.sizes() == at::IntArrayRef({B, max_len, 10}));
  CHECK(slot.rope_keys.sizes() == at::IntArrayRef({B, max_len, 4}));
  CHECK(slot.latent.scalar_type() == at::kFloat);
  CHECK(layer->cache_width() == 10 + 4);
  CHECK(slot.latent.size(2) + slot.rope_keys.size(2) == layer->cache_width());
  CHECK(slot.latent.numel() + slot.rope_keys.numel() == B * max_len * layer->cache_width());

  // Multi-head attention with the same heads and the same query/key width caches a key and a
  // value per head: 2 * 3 * 12 = 72 elements per token against 14.
  AttentionOptions gqa;
  gqa.d_model = 20;
  gqa.n_heads = 3;
  gqa.head_dim = 8 + 4;
  const KVSlot kv{at::zeros({B, gqa.kv_heads(), max_len, gqa.head_width()}),
                  at::zeros({B, gqa.kv_heads(), max_len, gqa.head_width()})};
  CHECK(slot.latent.numel() + slot.rope_keys.numel() < kv.keys.numel() + kv.values.numel());
  CHECK(layer->cache_width() < 2 * gqa.kv_heads() * gqa.head_width());
}

TEST_CASE("latent attention is causal: a later token does not change earlier outputs", "[sdk][nn][mla]") {
  at::manual_seed(24);
  at::NoGradGuard no_grad;
  MultiHeadLatentAttention layer = make_layer(small_options(7));
  const at::Tensor x = at::randn({1, 8, 20}, at::kDouble);
  at::Tensor changed = x.clone();
  changed.narrow(1, 5, 1).normal_();
  const at::Tensor a = layer->forward(x, tables(layer->options, 0, 8));
  const at::Tensor b = layer->forward(changed, tables(layer->options, 0, 8));
  CHECK(at::equal(a.narrow(1, 0, 5), b.narrow(1, 0, 5)));
  CHECK(max_difference(a.narrow(1, 5, 3), b.narrow(1, 5, 3)) > 1e-3);
}

TEST_CASE("bad latent attention options and arguments throw anvil::Error", "[sdk][nn][mla]") {
  const auto with = [](auto change) {
    LatentAttentionOptions o = small_options(0);
    change(o);
    return o;
  };
  CHECK_NOTHROW(MultiHeadLatentAttention(small_options(0)));
  CHECK_THROWS_AS(MultiHeadLatentAttention(LatentAttentionOptions{}), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.d_model = 0; })), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.n_heads = -1; })), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.q_lora_rank = -2; })), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.kv_lora_rank = 0; })), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.qk_nope_head_dim = 0; })), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.qk_rope_head_dim = 0; })), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.qk_rope_head_dim = 5; })), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.v_head_dim = 0; })), anvil::Error);
  CHECK_THROWS_AS(MultiHeadLatentAttention(with([](auto& o) { o.norm_eps = 0; })), anvil::Error);

  MultiHeadLatentAttention layer(small_options(0));
  const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor x = at::randn({1, 3, 20});
  const RotaryTables rope = rotary_tables(4, kBase, 0, 3, f32);
  CHECK_THROWS_AS(layer->forward(at::randn({1, 3, 21}), rope), anvil::Error);
  CHECK_THROWS_AS(layer->forward(x, rotary_tables(12, kBase, 0, 3, f32)), anvil::Error);
  LatentKVSlot slot = layer->new_slot(1, 4, f32);
  CHECK_THROWS_AS(layer->forward(x, rope, &slot, 2), anvil::Error);  // positions 2..4 of 4
  CHECK_NOTHROW(layer->forward(x, rope, &slot, 1));
  CHECK_THROWS_AS(layer->new_slot(0, 4, f32), anvil::Error);
}
