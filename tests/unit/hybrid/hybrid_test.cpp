// Tests of the "hybrid" architecture: which layers are local or global and which have a global
// branch, the receptive field a window leaves (and the global attention restores), parameter
// and FLOP counts, KV-cache decoding equal to the full pass for both patterns, option checks,
// and the export refusing a model Llama cannot express.
#include "hybrid_options.h"

#include <anvil/errors.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include <catch2/catch.hpp>

#include <map>
#include <string>

using anvil::nn::DenseModel;
using anvil::nn::DenseOptions;

namespace {

DenseOptions small_options() {
  DenseOptions o;
  o.vocab_size = 17;
  o.d_model = 32;
  o.n_layers = 4;
  o.n_heads = 4;
  o.n_kv_heads = 2;
  o.ffn_hidden = 48;
  o.max_seq_len = 32;
  o.local.window = 4;
  o.local.global_heads = 1;
  return o;
}

anvil::RunContext context_for(const DenseOptions& o, at::ScalarType dtype = at::kFloat) {
  anvil::RunContext context;
  context.vocab_size = o.vocab_size;
  context.param_dtype = dtype;
  context.seed = 5;
  return context;
}

// How much the logits at each position move when the first token changes.
at::Tensor sensitivity_to_first_token(DenseModel& model, std::int64_t T) {
  model.module().eval();
  at::NoGradGuard no_grad;
  at::Tensor tokens = at::randint(17, {1, T}, at::kLong);
  const at::Tensor before = model.forward(tokens).logits;
  tokens[0][0] = (tokens[0][0].item<std::int64_t>() + 1) % 17;
  return (model.forward(tokens).logits - before).abs().amax({0, 2});
}

}  // namespace

TEST_CASE("hybrid layers are local with a global branch, or global every N", "[hybrid]") {
  DenseOptions parallel = small_options();
  auto model = anvil::builtin::make_hybrid_model(parallel, context_for(parallel));
  for (const auto& block : model->net()->blocks) {
    CHECK(block->attention->options.window == 4);
    CHECK(block->global_attention);
    CHECK(block->global_attention->options.n_heads == 1);
  }
  DenseOptions interleaved = small_options();
  interleaved.local.global_heads = 0;
  interleaved.local.global_every = 2;
  auto other = anvil::builtin::make_hybrid_model(interleaved, context_for(interleaved));
  std::vector<std::int64_t> windows;
  for (const auto& block : other->net()->blocks) {
    windows.push_back(block->attention->options.window);
    CHECK_FALSE(block->global_attention);
  }
  CHECK(windows == std::vector<std::int64_t>{4, 0, 4, 0});
}

TEST_CASE("a window limits what a token sees and global attention reaches past it", "[hybrid]") {
  at::manual_seed(9);
  DenseOptions local = small_options();
  local.n_layers = 1;
  local.local.global_heads = 0;  // not a valid hybrid: built directly to see the window alone
  DenseModel windowed(local, context_for(local));
  const at::Tensor moved = sensitivity_to_first_token(windowed, 10);
  CHECK(moved[3].item<double>() > 1e-4);  // position 3 still sees position 0 (window 4)
  CHECK(moved.narrow(0, 4, 6).max().item<double>() == 0.0);
  DenseOptions with_global = local;
  with_global.local.global_heads = 1;
  auto hybrid = anvil::builtin::make_hybrid_model(with_global, context_for(with_global));
  CHECK(sensitivity_to_first_token(*hybrid, 10).narrow(0, 4, 6).min().item<double>() > 1e-6);
}

TEST_CASE("hybrid counts its global branches' parameters and its windows' attention FLOPs", "[hybrid]") {
  const DenseOptions o = small_options();
  auto model = anvil::builtin::make_hybrid_model(o, context_for(o));
  const std::int64_t attention = 2 * 32 * 32 + 2 * 32 * 16, mlp = 3 * 32 * 48, global = 4 * 32 * 8;
  CHECK(anvil::nn::dense_matmul_parameters(o) == 4 * (attention + mlp + global) + 17 * 32);
  CHECK(anvil::parameter_count(*model) == anvil::nn::dense_matmul_parameters(o) + 9 * 32);
  // Four local layers: 12 * D * window for the local heads, 12 * head_dim * T for the global one.
  CHECK(model->flops_per_token(32) ==
        Approx(6.0 * anvil::nn::dense_matmul_parameters(o) + 4 * (12.0 * 32 * 4 + 12.0 * 8 * 32)));
}

TEST_CASE("hybrid decoding through the KV cache equals the full pass", "[hybrid]") {
  for (const bool parallel : {true, false}) {
    INFO("parallel " << parallel);
    DenseOptions o = small_options();
    if (!parallel) {
      o.local.global_heads = 0;
      o.local.global_every = 2;
    }
    auto model = anvil::builtin::make_hybrid_model(o, context_for(o, at::kDouble));
    model->module().eval();
    at::NoGradGuard no_grad;
    const at::Tensor tokens = at::randint(17, {2, 13}, at::kLong);
    const at::Tensor full = model->forward(tokens).logits;
    auto cache = model->new_cache(2, 20);
    std::vector<at::Tensor> steps{model->decode(tokens.narrow(1, 0, 5), *cache)};
    for (std::int64_t t = 5; t < 13; ++t) steps.push_back(model->decode(tokens.narrow(1, t, 1), *cache));
    CHECK(at::allclose(at::cat(steps, 1), full, 1e-9, 1e-11));
  }
}

TEST_CASE("hybrid reports missing global attention and refuses a Llama export", "[hybrid]") {
  DenseOptions o = small_options();
  o.local.window = 0;
  o.local.global_heads = 0;
  std::map<std::string, std::string> problems;
  for (const auto& p : anvil::builtin::hybrid_option_problems(o)) problems[p.key] = p.message;
  CHECK(problems.count("window") == 1);
  CHECK(problems.count("global_heads") == 1);
  CHECK_THROWS_AS(anvil::builtin::make_hybrid_model(o, context_for(o)), anvil::Error);
  const DenseOptions valid = small_options();
  auto model = anvil::builtin::make_hybrid_model(valid, context_for(valid));
  CHECK_THROWS_WITH(model->to_hugging_face(), Catch::Matchers::Contains("sliding-window"));
  // Its run-time errors name the hybrid architecture, not the dense decoder under it.
  const at::Tensor too_long = at::zeros({1, valid.max_seq_len + 1}, at::kLong);
  CHECK_THROWS_WITH(model->forward(too_long), Catch::Matchers::Contains("hybrid: positions up to"));
  CHECK_THROWS_WITH(model->new_cache(0, 4), Catch::Matchers::Contains("hybrid: cache batch size"));
}
