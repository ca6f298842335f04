// Tests of the "moe" architecture: parameter and FLOP counts (active parameters only), the
// balance loss as an auxiliary loss in training only, KV-cache decoding equal to the full pass,
// the step's load metrics and bias updates (StepObserver), activation checkpointing equal to
// the plain pass, option checks at their keys, and learning a small task.
#include "moe_model.h"

#include <anvil/errors.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/adam.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

using anvil::builtin::MoEModel;
using anvil::builtin::MoEModelOptions;

namespace {

MoEModelOptions small_options() {
  MoEModelOptions o;
  o.base.vocab_size = 19;
  o.base.d_model = 32;
  o.base.n_layers = 3;
  o.base.n_heads = 4;
  o.base.n_kv_heads = 2;
  o.base.ffn_hidden = 64;
  o.base.max_seq_len = 16;
  o.n_dense_layers = 1;
  o.n_routed_experts = 6;
  o.n_shared_experts = 1;
  o.top_k = 2;
  o.expert_hidden = 16;
  return o;
}

std::unique_ptr<MoEModel> make_model(const MoEModelOptions& options, at::ScalarType dtype = at::kFloat) {
  anvil::RunContext context;
  context.vocab_size = options.base.vocab_size;
  context.param_dtype = dtype;
  context.seed = 7;
  return anvil::builtin::make_moe_model(options, context);
}

double metric(const anvil::Metrics& metrics, const std::string& name) {
  const auto it = std::find_if(metrics.begin(), metrics.end(), [&](const anvil::Metric& m) { return m.name == name; });
  REQUIRE(it != metrics.end());
  return it->value;
}

}  // namespace

TEST_CASE("moe counts all experts as parameters but only the active ones as FLOPs", "[moe]") {
  const MoEModelOptions o = small_options();
  auto model = make_model(o);
  const auto count = anvil::builtin::moe_matmul_parameters(o);
  // Tied head: the matmul count includes the embedding once; the norms' gains are extra.
  CHECK(anvil::parameter_count(*model) == count.total + (2 * 3 + 1) * 32);
  const std::int64_t attention = 2 * 32 * 32 + 2 * 32 * 16;
  const std::int64_t expert = 3 * 32 * 16;
  CHECK(count.active == 3 * attention + 3 * 32 * 64 + 2 * (32 * 6 + expert + 2 * expert) + 19 * 32);
  CHECK(count.total - count.active == 2 * (6 - 2) * expert);
  CHECK(model->flops_per_token(16) == Approx(6.0 * count.active + 12.0 * 3 * 32 * 16));
  CHECK(model->blocks().size() == 3);
  std::map<std::string, std::vector<std::int64_t>> shapes;
  for (const auto& item : model->module().named_parameters()) shapes[item.key()] = item.value().sizes().vec();
  CHECK(shapes.at("layers.0.feed_forward.w1.weight") == std::vector<std::int64_t>{64, 32});
  CHECK(shapes.at("layers.1.feed_forward.router.weight") == std::vector<std::int64_t>{6, 32});
  CHECK(shapes.at("layers.2.feed_forward.experts.w1") == std::vector<std::int64_t>{6, 16, 32});
  CHECK(shapes.at("layers.2.feed_forward.experts.w2") == std::vector<std::int64_t>{6, 32, 16});
  CHECK(shapes.at("layers.2.feed_forward.shared.w1.weight") == std::vector<std::int64_t>{16, 32});
}

TEST_CASE("moe adds its balance loss in training only", "[moe]") {
  MoEModelOptions o = small_options();
  o.balance_loss_coef = 0.01;
  auto model = make_model(o);
  const at::Tensor tokens = at::randint(19, {2, 8}, at::kLong);
  const anvil::ModelOutput train = model->forward(tokens);
  REQUIRE(train.aux_losses.size() == 1);
  CHECK(train.aux_losses[0].first == "moe_balance");
  // Two MoE layers, each alpha * (about 1 when near balance).
  const double aux = train.aux_losses[0].second.item<double>();
  CHECK(aux > 0.01);
  CHECK(aux < 0.2);
  CHECK(train.logits.sizes() == std::vector<std::int64_t>{2, 8, 19});
  model->module().eval();
  CHECK(model->forward(tokens).aux_losses.empty());
}

TEST_CASE("moe decoding through the KV cache equals the full pass", "[moe]") {
  MoEModelOptions o = small_options();
  o.router_score = "sigmoid";
  o.n_expert_groups = 3;
  o.top_k_groups = 2;
  auto model = make_model(o, at::kDouble);
  model->module().eval();
  const at::Tensor tokens = at::randint(19, {2, 11}, at::kLong);
  at::NoGradGuard no_grad;
  const at::Tensor full = model->forward(tokens).logits;
  auto cache = model->new_cache(2, 16);
  std::vector<at::Tensor> steps{model->decode(tokens.narrow(1, 0, 4), *cache)};
  for (std::int64_t t = 4; t < 11; ++t) steps.push_back(model->decode(tokens.narrow(1, t, 1), *cache));
  CHECK(at::allclose(at::cat(steps, 1), full, 1e-9, 1e-11));
  CHECK(cache->length() == 11);
  CHECK_THROWS_AS(model->decode(tokens.narrow(1, 0, 6), *cache), anvil::Error);
}

TEST_CASE("moe reports each step's expert load and moves the biases towards balance", "[moe]") {
  MoEModelOptions o = small_options();
  o.bias_update_speed = 0.05;
  o.capacity_factor = 1.0;
  auto model = make_model(o);
  const at::Tensor tokens = at::randint(19, {4, 16}, at::kLong);
  model->forward(tokens);
  model->forward(tokens);  // two micro-batches in one step
  const anvil::Metrics metrics = model->end_step(/*updated=*/true);
  double shares = 0;
  for (int e = 0; e < 6; ++e) shares += metric(metrics, "moe.load.e" + std::to_string(e));
  CHECK(shares == Approx(1.0));
  CHECK(metric(metrics, "moe.imbalance") >= 1.0);
  CHECK(metric(metrics, "moe.imbalance_max") >= metric(metrics, "moe.layer1.imbalance"));
  CHECK(metric(metrics, "moe.dropped") >= 0.0);
  // Each bias moved by exactly +-gamma (or stayed, at the mean) from zero.
  const at::Tensor bias = model->net()->moe_blocks[0]->feed_forward->router->expert_bias;
  CHECK(bias.abs().max().item<double>() == Approx(0.05));
  CHECK(bias.scalar_type() == at::kFloat);
  // Nothing ran since: no metrics, no update. A skipped step discards its load.
  CHECK(model->end_step(true).empty());
  model->forward(tokens);
  const at::Tensor before = bias.clone();
  model->end_step(/*updated=*/false);
  CHECK(at::equal(before, bias));
}

TEST_CASE("moe activation checkpointing gives the plain pass's loss and gradients", "[moe]") {
  MoEModelOptions o = small_options();
  o.balance_loss_coef = 0.05;
  auto plain = make_model(o, at::kDouble);
  o.base.activation_checkpointing = true;
  auto checkpointed = make_model(o, at::kDouble);
  const at::Tensor tokens = at::randint(19, {2, 12}, at::kLong);
  const auto loss_of = [&](MoEModel& model) {
    const anvil::ModelOutput out = model.forward(tokens);
    return (out.logits * out.logits).mean() + out.aux_losses.at(0).second;
  };
  const at::Tensor a = loss_of(*plain), b = loss_of(*checkpointed);
  CHECK(a.item<double>() == Approx(b.item<double>()).epsilon(1e-12));
  a.backward();
  b.backward();
  const auto pa = plain->module().named_parameters(), pb = checkpointed->module().named_parameters();
  for (const auto& item : pa) {
    INFO(item.key());
    CHECK(at::allclose(item.value().grad(), pb[item.key()].grad(), 1e-9, 1e-12));
  }
}

TEST_CASE("moe reports inconsistent options at their keys", "[moe]") {
  MoEModelOptions o = small_options();
  o.n_dense_layers = 3;
  o.top_k = 7;
  o.n_expert_groups = 4;
  o.balance_loss = "global";
  std::map<std::string, std::string> problems;
  for (const auto& p : anvil::builtin::moe_option_problems(o)) problems[p.key] = p.message;
  CHECK(problems.count("n_dense_layers") == 1);
  CHECK(problems.count("top_k") == 1);
  CHECK(problems.at("n_expert_groups") == "must divide n_routed_experts (6), got 4");
  CHECK(problems.count("balance_loss") == 1);
  CHECK_THROWS_AS(make_model(o), anvil::Error);
}

TEST_CASE("moe learns a fixed sequence", "[moe]") {
  at::manual_seed(3);
  MoEModelOptions o = small_options();
  o.bias_update_speed = 0.01;
  auto model = make_model(o);
  const at::Tensor pattern = at::randperm(19, at::kLong).narrow(0, 0, 17);
  const at::Tensor input = pattern.narrow(0, 0, 16).unsqueeze(0).repeat({4, 1});
  const at::Tensor target = pattern.narrow(0, 1, 16).unsqueeze(0).repeat({4, 1});
  torch::optim::Adam adam(model->module().parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    const anvil::ModelOutput out = model->forward(input);
    const at::Tensor ce = at::cross_entropy_loss(out.logits.reshape({-1, 19}), target.reshape({-1}));
    (ce + out.aux_losses.at(0).second).backward();
    adam.step();
    model->end_step(true);
    (step == 0 ? first : last) = ce.item<double>();
  }
  CHECK(first > 2.5);  // ln 19 = 2.94 at the start
  CHECK(last < 0.1);
}

TEST_CASE("moe with multi-token prediction returns both auxiliary losses", "[moe][mtp]") {
  MoEModelOptions o = small_options();
  o.base.mtp_depth = 1;
  auto model = make_model(o);
  const anvil::ModelOutput out = model->forward(at::randint(19, {2, 10}, at::kLong));
  REQUIRE(out.aux_losses.size() == 2);
  CHECK(out.aux_losses[0].first == "moe_balance");
  CHECK(out.aux_losses[1].first == "mtp");
  CHECK(out.aux_losses[1].second.item<double>() == Approx(0.3 * std::log(19.0)).epsilon(0.1));
  const auto count = anvil::builtin::moe_matmul_parameters(o);
  CHECK(count.active - anvil::builtin::moe_matmul_parameters(small_options()).active ==
        anvil::nn::mtp_matmul_parameters(o.base));
}

TEST_CASE("moe with latent attention decodes through its latent cache as the full pass", "[moe][mla]") {
  MoEModelOptions o = small_options();
  o.base.attention = "mla";
  o.base.kv_lora_rank = 16;
  auto model = make_model(o, at::kDouble);
  model->module().eval();
  at::NoGradGuard no_grad;
  const at::Tensor tokens = at::randint(19, {2, 9}, at::kLong);
  const at::Tensor full = model->forward(tokens).logits;
  auto cache = model->new_cache(2, 16);
  std::vector<at::Tensor> steps;
  for (std::int64_t t = 0; t < 9; ++t) steps.push_back(model->decode(tokens.narrow(1, t, 1), *cache));
  CHECK(at::allclose(at::cat(steps, 1), full, 1e-9, 1e-11));
  // Every parameter is counted: matmuls (total) plus the norms' gains (7 of width D, kv_norm).
  CHECK(anvil::parameter_count(*model) == anvil::builtin::moe_matmul_parameters(o).total + 7 * 32 + 3 * 16);
}
