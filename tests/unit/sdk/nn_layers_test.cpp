// The SDK's shared layers (<anvil/nn/...>) against their definitions written out by hand:
// RMSNorm, rotary positions (a rotation: norms kept, dot products depend on the distance only),
// the causal attention kernel (decode case: queries after cached keys), grouped-query attention
// with a KV cache, SwiGLU.
#include <anvil/nn/attention.h>
#include <anvil/nn/mlp.h>
#include <anvil/nn/norm.h>
#include <anvil/nn/rotary.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace anvil::nn;

namespace {

bool close(const at::Tensor& a, const at::Tensor& b, double tolerance = 1e-5) {
  return at::allclose(a, b, tolerance, tolerance);
}

}  // namespace

TEST_CASE("RMSNorm divides by the root mean square and scales by its gain", "[sdk][nn]") {
  at::manual_seed(1);
  RMSNorm norm(8, 1e-6);
  at::NoGradGuard no_grad;
  norm->weight.copy_(at::arange(1, 9, at::kFloat));
  const at::Tensor x = at::randn({3, 8});
  const at::Tensor expected = x / (x.pow(2).mean(-1, true) + 1e-6).sqrt() * at::arange(1, 9, at::kFloat);
  CHECK(close(norm->forward(x), expected));
  // bf16 inputs are normalised in float32, rounded to bf16, then scaled by the float32 gain.
  const at::Tensor low = x.to(at::kBFloat16);
  CHECK(norm->forward(low).scalar_type() == at::kFloat);
  CHECK(close(norm->forward(low), expected, 5e-2));
}

TEST_CASE("rotary positions rotate pairs: norms kept, dot products depend on the distance", "[sdk][nn]") {
  at::manual_seed(2);
  const at::Tensor q = at::randn({1, 1, 1, 16}), k = at::randn({1, 1, 1, 16});
  const auto at_position = [](const at::Tensor& x, std::int64_t position) {
    return apply_rotary(x, rotary_tables(16, 10000.0, position, 1, x.options()));
  };
  CHECK(close(at_position(q, 0), q));
  CHECK(std::abs(at_position(q, 37).norm().item<double>() - q.norm().item<double>()) < 1e-4);
  const double near = (at_position(q, 5) * at_position(k, 3)).sum().item<double>();
  const double far = (at_position(q, 105) * at_position(k, 103)).sum().item<double>();
  CHECK(std::abs(near - far) < 1e-4);
  // Pair i is (x[i], x[i + 8]): at position 1 the first pair turns by exactly one radian.
  at::Tensor unit = at::zeros({1, 1, 1, 16});
  unit[0][0][0][0] = 1.0;
  const at::Tensor turned = at_position(unit, 1);
  CHECK(std::abs(turned[0][0][0][0].item<double>() - std::cos(1.0)) < 1e-6);
  CHECK(std::abs(turned[0][0][0][8].item<double>() - std::sin(1.0)) < 1e-6);
}

TEST_CASE("causal attention lets query i see keys up to S - T + i", "[sdk][nn]") {
  at::manual_seed(3);
  const std::int64_t T = 3, S = 5, hd = 4;
  const at::Tensor q = at::randn({1, 2, T, hd}), k = at::randn({1, 2, S, hd}), v = at::randn({1, 2, S, hd});
  at::Tensor expected = at::empty({1, 2, T, hd});
  for (std::int64_t h = 0; h < 2; ++h)
    for (std::int64_t i = 0; i < T; ++i) {
      const std::int64_t visible = S - T + i + 1;
      const at::Tensor scores = at::mv(k[0][h].narrow(0, 0, visible), q[0][h][i]) / std::sqrt(double(hd));
      expected[0][h][i] = at::mv(v[0][h].narrow(0, 0, visible).t(), scores.softmax(0));
    }
  CHECK(close(causal_attention(q, k, v), expected));
  CHECK(repeat_heads(k, 3).size(1) == 6);
  CHECK(at::equal(repeat_heads(k, 3)[0][2], k[0][0]));
  CHECK(at::equal(repeat_heads(k, 3)[0][3], k[0][1]));
}

TEST_CASE("grouped-query attention through a KV cache equals the full pass", "[sdk][nn]") {
  at::manual_seed(4);
  AttentionOptions options;
  options.d_model = 16;
  options.n_heads = 4;
  options.n_kv_heads = 2;
  GroupedQueryAttention attention(options);
  CHECK(attention->wk->weight.size(0) == 8);  // 2 heads of 4
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({2, 6, 16});
  const at::Tensor full = attention->forward(x, rotary_tables(4, 10000.0, 0, 6, x.options()));
  KVSlot slot{at::zeros({2, 2, 6, 4}), at::zeros({2, 2, 6, 4})};
  const at::Tensor prefix = attention->forward(x.narrow(1, 0, 4), rotary_tables(4, 10000.0, 0, 4, x.options()), &slot, 0);
  const at::Tensor rest = attention->forward(x.narrow(1, 4, 2), rotary_tables(4, 10000.0, 4, 2, x.options()), &slot, 4);
  CHECK(close(at::cat({prefix, rest}, 1), full));
}

TEST_CASE("SwiGLU is w2(silu(w1 x) * w3 x)", "[sdk][nn]") {
  at::manual_seed(5);
  SwiGLU mlp(8, 12);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({2, 3, 8});
  const at::Tensor expected =
      at::linear(at::silu(at::linear(x, mlp->w1->weight)) * at::linear(x, mlp->w3->weight), mlp->w2->weight);
  CHECK(close(mlp->forward(x), expected));
  CHECK(mlp->named_parameters().size() == 3);
}
