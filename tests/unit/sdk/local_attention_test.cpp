// Sliding-window (local) attention against a full softmax attention with the band mask written
// out by hand: values and gradients for full passes of many lengths (whole blocks, ragged last
// block, window 1, window beyond the sequence), decode steps after cached keys, bf16, and
// grouped-query attention with a window decoding through its KV cache.
#include <anvil/errors.h>
#include <anvil/nn/attention.h>
#include <anvil/nn/rotary.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

using namespace anvil::nn;

namespace {

/// softmax(q k^T / sqrt(hd)) v over all S keys, with every key outside [p - window + 1, p]
/// masked for the query at position p = S - T + i: O(T * S), the definition itself.
at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t window) {
  const std::int64_t T = q.size(2), S = k.size(2);
  const at::Tensor p = at::arange(S - T, S, at::kLong).view({T, 1});
  const at::Tensor c = at::arange(S, at::kLong).view({1, S});
  const at::Tensor masked = at::logical_or(c > p, c < p - window + 1);
  const at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(q.size(3)));
  return at::matmul(scores.masked_fill(masked, -std::numeric_limits<double>::infinity()).softmax(-1), v);
}

struct Inputs {
  at::Tensor q, k, v;
};

Inputs random_inputs(std::int64_t T, std::int64_t S, at::ScalarType dtype = at::kDouble, std::int64_t B = 2,
                     std::int64_t H = 3, std::int64_t hd = 8) {
  const at::TensorOptions options = at::TensorOptions().dtype(dtype);
  return {at::randn({B, H, T, hd}, options), at::randn({B, H, S, hd}, options), at::randn({B, H, S, hd}, options)};
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("sliding-window attention equals full attention with the band mask", "[sdk][nn][local]") {
  at::manual_seed(11);
  // (T, window): whole blocks, a ragged last block, window 1 (each query sees only itself),
  // window = T - 1, window = T and beyond (plain causal attention), T shorter than a block.
  const std::vector<std::pair<std::int64_t, std::int64_t>> cases = {
      {16, 4}, {17, 4}, {23, 5}, {9, 1}, {12, 11}, {12, 12}, {12, 40}, {3, 8}, {40, 7}};
  for (const auto& [T, window] : cases) {
    CAPTURE(T, window);
    const Inputs in = random_inputs(T, T);
    const at::Tensor out = sliding_window_attention(in.q, in.k, in.v, window);
    CHECK(out.sizes() == in.q.sizes());
    CHECK(out.scalar_type() == at::kDouble);
    CHECK(max_difference(out, reference(in.q, in.k, in.v, window)) < 1e-12);
  }
  // Window 1: softmax over a single key, so the output is exactly v.
  const Inputs in = random_inputs(10, 10);
  CHECK(max_difference(sliding_window_attention(in.q, in.k, in.v, 1), in.v) < 1e-14);
  // A window covering the sequence is causal attention.
  CHECK(max_difference(sliding_window_attention(in.q, in.k, in.v, 10), causal_attention(in.q, in.k, in.v)) < 1e-12);
}

TEST_CASE("sliding-window attention after cached keys equals the last rows of the full pass", "[sdk][nn][local]") {
  at::manual_seed(12);
  const std::int64_t S = 37;
  const Inputs in = random_inputs(S, S);
  // T <= window takes the short banded path, T > window the blocked one with an offset.
  for (const std::int64_t window : {1, 4, 5, 16, 36, 37, 50}) {
    const at::Tensor full = sliding_window_attention(in.q, in.k, in.v, window);
    for (const std::int64_t T : {1, 3, 20}) {
      CAPTURE(window, T);
      const at::Tensor last = sliding_window_attention(in.q.narrow(2, S - T, T), in.k, in.v, window);
      CHECK(last.size(2) == T);
      CHECK(max_difference(last, full.narrow(2, S - T, T)) < 1e-12);
      CHECK(max_difference(last, reference(in.q.narrow(2, S - T, T), in.k, in.v, window)) < 1e-12);
    }
  }
}

TEST_CASE("sliding-window attention gradients match the masked reference", "[sdk][nn][local]") {
  at::manual_seed(13);
  // Full passes (ragged last block: its padding must not leak NaN into real gradients) and a
  // decode step over cached keys on the blocked path.
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{19, 19}, {16, 16}, {11, 26}, {2, 26}};
  for (const auto& [T, S] : shapes) {
    for (const std::int64_t window : {1, 4, 6}) {
      CAPTURE(T, S, window);
      const Inputs in = random_inputs(T, S);
      const at::Tensor weights = at::randn({2, 3, T, 8}, at::kDouble);  // a loss that weights every output
      std::vector<at::Tensor> ours, expected;
      for (const bool reference_pass : {false, true}) {
        const at::Tensor q = in.q.clone().requires_grad_(), k = in.k.clone().requires_grad_(),
                         v = in.v.clone().requires_grad_();
        const at::Tensor out =
            reference_pass ? reference(q, k, v, window) : sliding_window_attention(q, k, v, window);
        (out * weights).sum().backward();
        (reference_pass ? expected : ours) = {q.grad(), k.grad(), v.grad()};
      }
      for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(at::isfinite(ours[i]).all().item<bool>());
        CHECK(max_difference(ours[i], expected[i]) < 1e-11);
      }
      // Keys older than every query's window get no gradient at all.
      if (S - T - window + 1 > 0) {
        CHECK(ours[1].narrow(2, 0, S - T - window + 1).abs().max().item<double>() == 0.0);
      }
    }
  }
}

TEST_CASE("sliding-window attention runs in float32 and bfloat16", "[sdk][nn][local]") {
  at::manual_seed(14);
  const Inputs in = random_inputs(21, 21);
  const at::Tensor expected = reference(in.q, in.k, in.v, 4);
  CHECK(max_difference(sliding_window_attention(in.q.to(at::kFloat), in.k.to(at::kFloat), in.v.to(at::kFloat), 4),
                       expected) < 1e-5);
  const at::Tensor low =
      sliding_window_attention(in.q.to(at::kBFloat16), in.k.to(at::kBFloat16), in.v.to(at::kBFloat16), 4);
  CHECK(low.scalar_type() == at::kBFloat16);
  CHECK(at::isfinite(low).all().item<bool>());
  CHECK(max_difference(low, expected) < 0.1);  // bf16 keeps 8 bits of mantissa
}

TEST_CASE("sliding-window attention rejects a window below 1 and mismatched shapes", "[sdk][nn][local]") {
  const Inputs in = random_inputs(4, 4);
  CHECK_THROWS_AS(sliding_window_attention(in.q, in.k, in.v, 0), anvil::Error);
  CHECK_THROWS_AS(sliding_window_attention(in.q, in.k, in.v, -3), anvil::Error);
  CHECK_THROWS_AS(sliding_window_attention(in.q, in.k.narrow(2, 0, 3), in.v.narrow(2, 0, 3), 2), anvil::Error);
}

TEST_CASE("grouped-query attention with a window decodes through its KV cache like its full pass",
          "[sdk][nn][local]") {
  at::manual_seed(15);
  AttentionOptions options;
  options.d_model = 16;
  options.n_heads = 4;
  options.n_kv_heads = 2;
  options.window = 3;
  GroupedQueryAttention local(options);
  at::NoGradGuard no_grad;
  const std::int64_t T = 11;
  const at::Tensor x = at::randn({2, T, 16}, at::kDouble);
  local->to(at::kDouble);
  const auto rope = [&](std::int64_t start, std::int64_t length) {
    return rotary_tables(4, 10000.0, start, length, x.options());
  };
  const at::Tensor full = local->forward(x, rope(0, T));

  // The same weights with full attention differ once a position has more than `window` before it.
  local->options.window = 0;
  const at::Tensor unwindowed = local->forward(x, rope(0, T));
  local->options.window = 3;
  CHECK(max_difference(full.narrow(1, 0, 3), unwindowed.narrow(1, 0, 3)) < 1e-12);
  CHECK(max_difference(full.narrow(1, 3, T - 3), unwindowed.narrow(1, 3, T - 3)) > 1e-3);

  // A prompt of 5 (longer than the window: the blocked path), then one token at a time.
  KVSlot slot{at::zeros({2, 2, T, 4}, at::kDouble), at::zeros({2, 2, T, 4}, at::kDouble)};
  std::vector<at::Tensor> pieces = {local->forward(x.narrow(1, 0, 5), rope(0, 5), &slot, 0)};
  for (std::int64_t t = 5; t < T; ++t) pieces.push_back(local->forward(x.narrow(1, t, 1), rope(t, 1), &slot, t));
  CHECK(max_difference(at::cat(pieces, 1), full) < 1e-12);
}
