// The trainer's step: gradient accumulation equals one large batch, clipping by global norm,
// non-finite steps leave the model untouched, fp16 loss scaling, parameter groups, autocast.
#include "train/param_groups.h"
#include "train/precision.h"
#include "train/step_runner.h"

#include "cross_entropy_loss.h"
#include <anvil/nn/decoder/dense_model.h>
#include "support/tiny_dense.h"
#include "sgd_optimizer.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace anvil::core;

namespace {

std::unique_ptr<anvil::nn::DenseModel> make_model() { return anvil::test::tiny_dense(31, 16, 2, 7); }

// A model, SGD over its parameter groups, cross-entropy, and a runner over them.
struct Setup {
  std::unique_ptr<anvil::nn::DenseModel> model = make_model();
  anvil::builtin::SgdOptimizer optimizer{anvil::builtin::SgdOptions{0.1}};
  anvil::builtin::CrossEntropyLoss loss{anvil::builtin::CrossEntropyOptions{}};
  std::unique_ptr<StepRunner> runner;

  explicit Setup(StepOptions options = {}) {
    std::vector<anvil::ParamGroup> groups = make_param_groups(model->module(), {"embed"});
    std::vector<at::Tensor> params = all_parameters(groups);
    optimizer.add_param_groups(std::move(groups));
    runner = std::make_unique<StepRunner>(*model, optimizer,
                                          std::vector<LossTerm>{{"cross-entropy", &loss, 1.0}},
                                          params, options);
  }
};

anvil::Batch random_batch(std::int64_t rows, std::int64_t seq, std::uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor tokens = at::randint(0, 31, {rows, seq + 1}, at::kLong);
  return {tokens.slice(1, 0, seq).contiguous(), tokens.slice(1, 1, seq + 1).contiguous()};
}

anvil::Batch rows(const anvil::Batch& batch, std::int64_t begin, std::int64_t end) {
  return {batch.input.slice(0, begin, end), batch.target.slice(0, begin, end)};
}

double max_param_diff(anvil::Model& a, anvil::Model& b) {
  double worst = 0;
  const auto pa = a.module().parameters(), pb = b.module().parameters();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i)
    worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  return worst;
}

}  // namespace

TEST_CASE("k micro-batches of b rows train like one batch of k*b rows", "[train][step]") {
  const anvil::Batch batch = random_batch(4, 12, 3);
  Setup whole, split;
  REQUIRE(max_param_diff(*whole.model, *split.model) == 0);  // same seed, same weights

  const StepOutcome one = whole.runner->step({batch}, 0.1);
  const StepOutcome two = split.runner->step({rows(batch, 0, 2), rows(batch, 2, 4)}, 0.1);
  CHECK(one.updated);
  CHECK(two.updated);
  CHECK(two.loss == Approx(one.loss).epsilon(1e-6));
  CHECK(two.grad_norm == Approx(one.grad_norm).epsilon(1e-5));
  CHECK(max_param_diff(*whole.model, *split.model) < 1e-6);
  // And the step did change the weights.
  Setup untouched;
  CHECK(max_param_diff(*whole.model, *untouched.model) > 1e-4);

  const StepOutcome four = Setup().runner->step(
      {rows(batch, 0, 1), rows(batch, 1, 2), rows(batch, 2, 3), rows(batch, 3, 4)}, 0.1);
  CHECK(four.loss == Approx(one.loss).epsilon(1e-6));
}

TEST_CASE("the loss of a step is the mean cross-entropy and carries its metrics", "[train][step]") {
  const anvil::Batch batch = random_batch(2, 8, 5);
  Setup setup;
  double expected = 0;
  {
    at::NoGradGuard no_grad;
    const at::Tensor logits = setup.model->forward(batch.input).logits;
    expected = at::cross_entropy_loss(logits.reshape({-1, 31}), batch.target.reshape({-1})).item<double>();
  }
  const StepOutcome outcome = setup.runner->step({batch}, 0.1);
  CHECK(outcome.loss == Approx(expected).epsilon(1e-6));
  REQUIRE(outcome.metrics.size() == 1);
  CHECK(outcome.metrics[0].name == "cross-entropy.ce");
  CHECK(outcome.metrics[0].value == Approx(expected).epsilon(1e-6));
}

TEST_CASE("gradients are clipped to the global norm", "[train][step]") {
  at::Tensor a = at::zeros({2}).requires_grad_(true);
  at::Tensor b = at::zeros({1, 1}).requires_grad_(true);
  at::Tensor c = at::zeros({3}).requires_grad_(true);  // no gradient: ignored
  a.mutable_grad() = at::tensor({3.0f, 0.0f});
  b.mutable_grad() = at::tensor({4.0f}).reshape({1, 1});
  const std::vector<at::Tensor> params{a, b, c};
  const double norm = global_grad_norm(params);
  CHECK(norm == Approx(5.0));

  clip_gradients(params, norm, 10.0);  // under the limit: unchanged
  CHECK(a.grad()[0].item<double>() == Approx(3.0));

  clip_gradients(params, norm, 1.0);
  CHECK(a.grad()[0].item<double>() == Approx(0.6).epsilon(1e-5));
  CHECK(b.grad()[0][0].item<double>() == Approx(0.8).epsilon(1e-5));
  CHECK(global_grad_norm(params) == Approx(1.0).epsilon(1e-5));

  clip_gradients(params, 1.0, 0.0);  // 0 disables clipping
  CHECK(global_grad_norm(params) == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("the step clips before the update", "[train][step]") {
  const anvil::Batch batch = random_batch(2, 8, 9);
  StepOptions tight;
  tight.grad_clip = 1e-3;
  StepOptions unclipped;
  unclipped.grad_clip = 0;
  Setup clipped(tight), free(unclipped);
  const StepOutcome a = clipped.runner->step({batch}, 0.1);
  const StepOutcome b = free.runner->step({batch}, 0.1);
  CHECK(a.grad_norm == Approx(b.grad_norm).epsilon(1e-6));  // reported before clipping
  REQUIRE(a.grad_norm > 1e-3);
  // SGD without momentum moves each weight by lr * grad: the clipped run moves norm-times less.
  Setup start;
  double moved_clipped = 0, moved_free = 0;
  const auto p0 = start.model->module().parameters();
  const auto pc = clipped.model->module().parameters(), pf = free.model->module().parameters();
  for (std::size_t i = 0; i < p0.size(); ++i) {
    moved_clipped += (pc[i] - p0[i]).pow(2).sum().item<double>();
    moved_free += (pf[i] - p0[i]).pow(2).sum().item<double>();
  }
  CHECK(std::sqrt(moved_clipped) == Approx(0.1 * 1e-3).epsilon(1e-3));
  CHECK(std::sqrt(moved_free) == Approx(0.1 * b.grad_norm).epsilon(1e-3));
}

TEST_CASE("a non-finite step changes nothing", "[train][step]") {
  Setup setup;
  const anvil::Batch batch = random_batch(2, 8, 11);
  {
    at::NoGradGuard no_grad;
    setup.model->module().named_parameters()["norm.weight"].fill_(std::numeric_limits<float>::quiet_NaN());
  }
  std::vector<at::Tensor> before;
  for (const at::Tensor& p : setup.model->module().parameters()) before.push_back(p.detach().clone());
  const StepOutcome outcome = setup.runner->step({batch}, 0.1);
  CHECK_FALSE(outcome.updated);
  CHECK_FALSE(outcome.scale_overflow);
  CHECK_FALSE(std::isfinite(outcome.loss));
  const auto after = setup.model->module().parameters();
  for (std::size_t i = 0; i < after.size(); ++i)
    CHECK(at::equal(after[i].isnan(), before[i].isnan()));
  for (std::size_t i = 0; i < after.size(); ++i)
    if (!before[i].isnan().any().item<bool>()) CHECK(at::equal(after[i], before[i]));
  for (const at::Tensor& p : after) CHECK_FALSE(p.grad().defined());  // zeroed for the next step
}

TEST_CASE("the fp16 loss scale halves on overflow and doubles after good steps", "[train][precision]") {
  LossScaler off(false);
  off.update(true);
  CHECK(off.scale() == 1.0);

  LossScaler scaler(true, 1024.0, 3);
  scaler.update(true);
  CHECK(scaler.scale() == 512.0);
  scaler.update(false);
  scaler.update(false);
  CHECK(scaler.scale() == 512.0);
  scaler.update(false);
  CHECK(scaler.scale() == 1024.0);
  scaler.update(false);
  scaler.update(true);  // an overflow resets the count of good steps
  scaler.update(false);
  scaler.update(false);
  CHECK(scaler.scale() == 512.0);
  for (int i = 0; i < 40; ++i) scaler.update(true);
  CHECK(scaler.scale() == 1.0);  // never below 1
}

TEST_CASE("autocast computes matmuls in bf16 inside the scope only", "[train][precision]") {
  const at::Tensor a = at::randn({4, 4}), b = at::randn({4, 4});
  {
    AutocastScope scope(Precision::bf16, c10::Device(c10::kCPU));
    CHECK(at::mm(a, b).scalar_type() == at::kBFloat16);
  }
  CHECK(at::mm(a, b).scalar_type() == at::kFloat);
  {
    AutocastScope scope(Precision::fp32, c10::Device(c10::kCPU));
    CHECK(at::mm(a, b).scalar_type() == at::kFloat);
  }
  CHECK(parse_precision("bf16") == Precision::bf16);
  CHECK_FALSE(parse_precision("auto").has_value());
}

TEST_CASE("bf16 training steps work and stay close to fp32", "[train][precision]") {
  const anvil::Batch batch = random_batch(2, 8, 13);
  StepOptions bf16;
  bf16.precision = Precision::bf16;
  const StepOutcome low = Setup(bf16).runner->step({batch}, 0.1);
  const StepOutcome full = Setup().runner->step({batch}, 0.1);
  CHECK(low.updated);
  CHECK(low.loss == Approx(full.loss).epsilon(0.02));
}

TEST_CASE("parameter groups exempt norms and embeddings from weight decay", "[train][groups]") {
  auto model = make_model();
  const std::vector<anvil::ParamGroup> groups = make_param_groups(model->module(), {"embed"});
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].name == "decay");
  CHECK_FALSE(groups[0].weight_decay.has_value());
  CHECK(groups[1].name == "no_decay");
  CHECK(groups[1].weight_decay == 0.0);
  std::int64_t total = 0;
  for (const auto& group : groups)
    for (const at::Tensor& p : group.params) total += p.numel();
  CHECK(total == anvil::parameter_count(*model));  // tied embedding counted once
  for (const at::Tensor& p : groups[0].params) CHECK(p.dim() >= 2);
  // Embeddings (31 x 32) are in no_decay although they are matrices.
  bool embedding = false;
  for (const at::Tensor& p : groups[1].params) embedding |= p.dim() == 2;
  CHECK(embedding);
  // Without the name rule, the embedding decays.
  CHECK(make_param_groups(model->module(), {})[1].params.size() == groups[1].params.size() - 1);
}
