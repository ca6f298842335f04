// Tests of the "sgd" optimizer (against hand-computed values and a scalar reference), the
// "none" offload, and the "cross-entropy" loss (against formulas evaluated in plain doubles).
// Only per-operator ATen headers are included, to keep this file quick to compile.
#include "cross_entropy_loss.h"
#include "none_offload.h"
#include "sgd_optimizer.h"
#include "support/error_message.h"

#include <anvil/errors.h>

#include <ATen/Context.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using anvil::builtin::CrossEntropyLoss;
using anvil::builtin::CrossEntropyOptions;
using anvil::builtin::NoneOffload;
using anvil::builtin::SgdOptimizer;
using anvil::builtin::SgdOptions;
using anvil::test::error_message;

namespace {

at::Tensor doubles(std::vector<double> values) {
  return at::tensor(at::ArrayRef<double>(values), at::kDouble);
}

// A leaf parameter (requires grad) holding `values`.
at::Tensor param(std::vector<double> values) {
  return doubles(std::move(values)).requires_grad_(true);
}

void set_grad(at::Tensor& p, const at::Tensor& grad) { p.mutable_grad() = grad.clone(); }

double metric(const anvil::Metrics& metrics, const std::string& name) {
  for (const auto& m : metrics)
    if (m.name == name) return m.value;
  FAIL("no metric " << name);
  return 0;
}


// torch.optim.SGD for one group, written out element by element in doubles.
struct ReferenceSgd {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  std::vector<std::vector<double>> p;    // per parameter, flattened
  std::vector<std::vector<double>> buf;  // empty until the parameter's first update

  // grads[k] empty = parameter k has no gradient this step.
  void step(const std::vector<std::vector<double>>& grads) {
    for (std::size_t k = 0; k < p.size(); ++k) {
      if (grads[k].empty()) continue;
      const bool first = buf[k].empty();
      if (first) buf[k].resize(p[k].size());
      for (std::size_t j = 0; j < p[k].size(); ++j) {
        double d = grads[k][j] + weight_decay * p[k][j];
        if (momentum != 0) {
          buf[k][j] = first ? d : momentum * buf[k][j] + (1 - dampening) * d;
          d = nesterov ? d + momentum * buf[k][j] : buf[k][j];
        }
        p[k][j] -= lr * d;
      }
    }
  }
};

std::vector<double> values_of(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// sgd

TEST_CASE("sgd matches hand-computed values for 3 steps", "[optimizer][sgd]") {
  // One scalar parameter p0 = 1 and gradients 0.5, -0.25, 1.0; lr = 0.1. Expected values worked
  // out by hand from torch.optim.SGD's update rule (see sgd_optimizer.h).
  struct Case {
    const char* name;
    SgdOptions options;
    double expected;
  };
  const std::vector<Case> cases = {
      {"plain", {0.1, 0.0, 0.0, false, 0.0}, 0.875},
      {"momentum + weight decay", {0.1, 0.9, 0.0, false, 0.1}, 0.758024},
      {"nesterov + weight decay", {0.1, 0.9, 0.0, true, 0.1}, 0.630906146},
      {"momentum + dampening", {0.1, 0.9, 0.5, false, 0.0}, 0.83825},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    at::Tensor p = param({1.0});
    SgdOptimizer sgd(c.options);
    sgd.add_param_groups({anvil::ParamGroup{"all", {p}}});
    for (const double g : {0.5, -0.25, 1.0}) {
      set_grad(p, doubles({g}));
      sgd.step();
    }
    CHECK(p.item<double>() == Approx(c.expected).margin(1e-9));
    CHECK(sgd.steps() == 3);
  }
}

TEST_CASE("sgd multi-tensor update equals the element-wise reference", "[optimizer][sgd]") {
  at::manual_seed(7);
  struct Case {
    const char* name;
    SgdOptions options;
    std::optional<double> group_weight_decay;
    double lr_scale;
  };
  const std::vector<Case> cases = {
      {"momentum, dampening, weight decay", {0.05, 0.9, 0.1, false, 0.01}, std::nullopt, 1.0},
      {"nesterov", {0.05, 0.8, 0.0, true, 0.02}, std::nullopt, 1.0},
      {"group weight decay overrides the option", {0.05, 0.9, 0.0, false, 0.01}, 0.3, 1.0},
      {"group exempt from decay", {0.05, 0.9, 0.0, false, 0.01}, 0.0, 1.0},
      {"lr_scale", {0.2, 0.5, 0.0, false, 0.0}, std::nullopt, 0.5},
      {"no momentum", {0.1, 0.0, 0.0, false, 0.05}, std::nullopt, 1.0},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    at::Tensor a = at::randn({2, 2}, at::kDouble).requires_grad_(true);
    at::Tensor b = at::randn({3}, at::kDouble).requires_grad_(true);
    SgdOptimizer sgd(c.options);
    anvil::ParamGroup group{"g", {a, b}, c.group_weight_decay, c.lr_scale};
    sgd.add_param_groups({group});
    CHECK(sgd.weight_decay_for(group) == c.group_weight_decay.value_or(c.options.weight_decay));

    ReferenceSgd ref{c.options.lr * c.lr_scale,
                     c.options.momentum,
                     c.options.dampening,
                     sgd.weight_decay_for(group),
                     c.options.nesterov,
                     {values_of(a), values_of(b)},
                     {{}, {}}};
    for (int step = 0; step < 3; ++step) {
      const at::Tensor ga = at::randn({2, 2}, at::kDouble);
      const at::Tensor gb = at::randn({3}, at::kDouble);
      set_grad(a, ga);
      // b has no gradient in step 1: it is skipped, and its momentum buffer starts a step later.
      if (step == 1)
        b.mutable_grad().reset();
      else
        set_grad(b, gb);
      sgd.step();
      ref.step({values_of(ga), step == 1 ? std::vector<double>{} : values_of(gb)});
      // The gradients are inputs only: never modified in place.
      CHECK(a.grad().equal(ga));
    }
    const std::vector<double> got_a = values_of(a), got_b = values_of(b);
    for (std::size_t j = 0; j < got_a.size(); ++j)
      CHECK(got_a[j] == Approx(ref.p[0][j]).margin(1e-9));
    for (std::size_t j = 0; j < got_b.size(); ++j)
      CHECK(got_b[j] == Approx(ref.p[1][j]).margin(1e-9));
  }
}

TEST_CASE("sgd zero_grad, lr and option checks", "[optimizer][sgd]") {
  at::Tensor p = param({1.0, 2.0});
  SgdOptimizer sgd({0.1, 0.9, 0.0, false, 0.0});
  sgd.add_param_groups({anvil::ParamGroup{"all", {p}}});
  set_grad(p, doubles({1.0, 1.0}));
  sgd.zero_grad();
  CHECK_FALSE(p.grad().defined());
  sgd.step();  // no gradient: nothing moves
  CHECK(values_of(p) == std::vector<double>{1.0, 2.0});
  CHECK(sgd.lr() == 0.1);
  sgd.set_lr(0.0);
  CHECK(sgd.lr() == 0.0);
  CHECK_THROWS_AS(sgd.set_lr(-1), anvil::Error);

  CHECK_THROWS_WITH(SgdOptimizer({0.1, 0.0, 0.0, true, 0.0}), Catch::Contains("nesterov"));
  CHECK_THROWS_WITH(SgdOptimizer({0.1, 0.9, 0.1, true, 0.0}), Catch::Contains("nesterov"));
  CHECK_THROWS_AS(SgdOptimizer({0.0, 0.0, 0.0, false, 0.0}), anvil::Error);
  CHECK_THROWS_AS(SgdOptimizer({0.1, 1.5, 0.0, false, 0.0}), anvil::Error);
  CHECK_THROWS_AS(SgdOptimizer({0.1, 0.0, 0.0, false, -1.0}), anvil::Error);
}

TEST_CASE("sgd state_dict round trip", "[optimizer][sgd]") {
  at::manual_seed(3);
  const SgdOptions options{0.1, 0.9, 0.0, true, 0.01};
  at::Tensor a = at::randn({2, 3}, at::kDouble).requires_grad_(true);
  at::Tensor b = at::randn({4}, at::kDouble).requires_grad_(true);
  at::Tensor c = at::randn({1}, at::kDouble).requires_grad_(true);  // never gets a gradient
  SgdOptimizer first(options);
  first.add_param_groups({anvil::ParamGroup{"decay", {a, b}}, anvil::ParamGroup{"no_decay", {c}}});
  const std::vector<at::Tensor> grads = {at::randn({2, 3}, at::kDouble),
                                         at::randn({4}, at::kDouble)};
  for (int i = 0; i < 2; ++i) {
    set_grad(a, grads[0]);
    set_grad(b, grads[1]);
    first.step();
  }

  const anvil::StateDict state = first.state_dict();
  REQUIRE(state.size() == 3);
  CHECK(state[0].first == "step");
  CHECK(state[0].second.item<std::int64_t>() == 2);
  CHECK(state[1].first == "group0.param0.momentum_buffer");
  CHECK(state[2].first == "group0.param1.momentum_buffer");
  CHECK(state[1].second.sizes() == a.sizes());

  // A second optimizer over copies of the parameters, restored from the state, continues
  // exactly like the first.
  at::Tensor a2 = a.detach().clone().requires_grad_(true);
  at::Tensor b2 = b.detach().clone().requires_grad_(true);
  at::Tensor c2 = c.detach().clone().requires_grad_(true);
  SgdOptimizer second(options);
  second.add_param_groups(
      {anvil::ParamGroup{"decay", {a2, b2}}, anvil::ParamGroup{"no_decay", {c2}}});
  second.load_state_dict(state);
  CHECK(second.steps() == 2);
  // The loaded buffers are copies, not aliases of the tensors handed in.
  const anvil::StateDict loaded = second.state_dict();
  REQUIRE(loaded.size() == 3);
  CHECK(loaded[1].second.data_ptr() != state[1].second.data_ptr());
  CHECK(loaded[1].second.equal(state[1].second));
  set_grad(a, grads[0]);
  set_grad(b, grads[1]);
  set_grad(a2, grads[0]);
  set_grad(b2, grads[1]);
  first.step();
  second.step();
  CHECK(a.equal(a2));
  CHECK(b.equal(b2));
  CHECK(c.equal(c2));
  CHECK(second.state_dict().size() == 3);
}

TEST_CASE("sgd load_state_dict names the first bad entry and changes nothing", "[optimizer][sgd]") {
  at::Tensor p = param({1.0, 2.0, 3.0});
  SgdOptimizer sgd({0.1, 0.9, 0.0, false, 0.0});
  sgd.add_param_groups({anvil::ParamGroup{"all", {p}}});
  set_grad(p, doubles({1.0, 1.0, 1.0}));
  sgd.step();
  const anvil::StateDict good = sgd.state_dict();
  const at::Tensor step = good[0].second;

  CHECK_THAT(
      error_message([&] {
        sgd.load_state_dict(
            {{"step", step}, {"group0.param0.momentum_buffer", at::zeros({2}, at::kDouble)}});
      }),
      Catch::Contains("'group0.param0.momentum_buffer'") && Catch::Contains("shape [2]") &&
          Catch::Contains("[3]"));
  CHECK_THAT(
      error_message([&] {
        sgd.load_state_dict(
            {{"step", step}, {"group0.param4.momentum_buffer", at::zeros({3}, at::kDouble)}});
      }),
      Catch::Contains("'group0.param4.momentum_buffer'") && Catch::Contains("param 4"));
  CHECK_THAT(
      error_message([&] {
        sgd.load_state_dict(
            {{"step", step}, {"group2.param0.momentum_buffer", at::zeros({3}, at::kDouble)}});
      }),
      Catch::Contains("group 2"));
  CHECK_THAT(error_message([&] {
               sgd.load_state_dict({{"step", step}, {"exp_avg", at::zeros({3}, at::kDouble)}});
             }),
             Catch::Contains("'exp_avg'"));
  CHECK_THAT(
      error_message([&] {
        sgd.load_state_dict({{"group0.param0.momentum_buffer", at::zeros({3}, at::kDouble)}});
      }),
      Catch::Contains("no entry 'step'"));
  CHECK_THAT(error_message([&] {
               sgd.load_state_dict({{"step", step}, {"step", step}});
             }),
             Catch::Contains("twice"));
  // Nothing was loaded: the step count and the buffer are those of the one real step.
  CHECK(sgd.steps() == 1);
  const anvil::StateDict after = sgd.state_dict();
  REQUIRE(after.size() == 2);
  CHECK(values_of(after[1].second) == std::vector<double>{1.0, 1.0, 1.0});
  // A state without buffers clears them.
  sgd.load_state_dict({{"step", step}});
  CHECK(sgd.state_dict().size() == 1);
}

// ---------------------------------------------------------------------------------------------
// none offload

TEST_CASE("none offload keeps tensors in place", "[offload][none]") {
  NoneOffload offload;
  at::Tensor a = at::zeros({4}, at::kFloat);      // 16 bytes
  at::Tensor b = at::zeros({2, 3}, at::kDouble);  // 48 bytes
  offload.store("a", a);
  offload.store("b", b);
  CHECK(offload.stored_bytes() == 64);
  CHECK(offload.size() == 2);

  // fetch on the same device returns the stored tensor itself (no copy) ...
  at::Tensor fetched = offload.fetch("a", at::kCPU);
  CHECK(fetched.is_same(a));
  // ... so in-place changes to the original are visible (store keeps a reference).
  a.fill_(2.0);
  CHECK(offload.fetch("a", at::kCPU)[0].item<float>() == 2.0f);

  // fetch to another device moves it there and leaves the home copy alone.
  const at::Tensor on_meta = offload.fetch("b", at::Device(at::kMeta));
  CHECK(on_meta.device().type() == at::kMeta);
  CHECK(on_meta.sizes() == b.sizes());
  CHECK(on_meta.scalar_type() == at::kDouble);
  CHECK(offload.fetch("b", at::kCPU).is_same(b));

  CHECK_NOTHROW(offload.prefetch("a", at::kCPU));
  CHECK_NOTHROW(offload.release("a"));
  CHECK(offload.fetch("a", at::kCPU).is_same(a));  // release keeps the home copy

  // store replaces.
  offload.store("a", at::zeros({8}, at::kFloat));
  CHECK(offload.stored_bytes() == 32 + 48);

  offload.erase("a");
  CHECK(offload.stored_bytes() == 48);
  CHECK_THROWS_WITH(offload.fetch("a", at::kCPU), Catch::Contains("'a'"));
  CHECK_THROWS_WITH(offload.fetch("missing.key", at::kCPU), Catch::Contains("'missing.key'"));
  CHECK_THROWS_AS(offload.prefetch("nope", at::kCPU), anvil::Error);
  CHECK_THROWS_AS(offload.release("nope"), anvil::Error);
  CHECK_THROWS_AS(offload.erase("nope"), anvil::Error);
  CHECK_THROWS_AS(offload.store("u", at::Tensor()), anvil::Error);
}

// ---------------------------------------------------------------------------------------------
// cross-entropy

namespace {

struct ManualLoss {
  double ce = 0;
  double z = 0;
  int counted = 0;
};

// The loss formulas of cross_entropy_loss.h, evaluated in doubles from the logit values.
ManualLoss manual_loss(const at::Tensor& logits,
                       const at::Tensor& target,
                       std::int64_t ignore_index,
                       double smoothing,
                       double z_weight) {
  const at::Tensor x = logits.detach().to(at::kDouble).contiguous();
  const at::Tensor y = target.contiguous();
  const auto xs = x.accessor<double, 3>();
  const auto ys = y.accessor<std::int64_t, 2>();
  const std::int64_t V = x.size(2);
  ManualLoss out;
  for (std::int64_t b = 0; b < x.size(0); ++b) {
    for (std::int64_t t = 0; t < x.size(1); ++t) {
      if (ys[b][t] == ignore_index) continue;
      double max = xs[b][t][0];
      for (std::int64_t v = 1; v < V; ++v) max = std::max(max, xs[b][t][v]);
      double sum = 0;
      for (std::int64_t v = 0; v < V; ++v) sum += std::exp(xs[b][t][v] - max);
      const double lse = max + std::log(sum);
      double mean_nll = 0;  // mean over the vocabulary of -log p(v)
      for (std::int64_t v = 0; v < V; ++v) mean_nll += (lse - xs[b][t][v]) / static_cast<double>(V);
      out.ce += (1 - smoothing) * (lse - xs[b][t][ys[b][t]]) + smoothing * mean_nll;
      out.z += lse * lse;
      ++out.counted;
    }
  }
  out.ce /= out.counted;
  out.z = z_weight * out.z / out.counted;
  return out;
}

}  // namespace

TEST_CASE("cross-entropy equals the manual log-softmax computation", "[loss][cross-entropy]") {
  at::manual_seed(11);
  anvil::ModelOutput output;
  output.logits = at::randn({2, 3, 5}).mul(3).requires_grad_(true);
  anvil::Batch batch;
  batch.target = at::randint(0, 5, {2, 3}, at::kLong);
  batch.target[0][1] = -100;  // ignored

  SECTION("plain") {
    CrossEntropyLoss loss({});
    const anvil::LossOutput out = loss.compute(output, batch);
    const ManualLoss expected = manual_loss(output.logits, batch.target, -100, 0, 0);
    REQUIRE(expected.counted == 5);
    CHECK(out.loss.dim() == 0);
    CHECK(out.loss.item<double>() == Approx(expected.ce).margin(1e-6));
    REQUIRE(out.metrics.size() == 1);
    CHECK(metric(out.metrics, "ce") == Approx(expected.ce).margin(1e-6));
    // The ignored position gets no gradient.
    out.loss.backward();
    CHECK(output.logits.grad()[0][1].abs().sum().item<double>() == 0.0);
    CHECK(output.logits.grad()[0][0].abs().sum().item<double>() > 0.0);
  }
  SECTION("label smoothing") {
    CrossEntropyLoss loss({-100, 0.1, 0.0});
    const anvil::LossOutput out = loss.compute(output, batch);
    const ManualLoss expected = manual_loss(output.logits, batch.target, -100, 0.1, 0);
    CHECK(out.loss.item<double>() == Approx(expected.ce).margin(1e-6));
    CHECK(expected.ce !=
          Approx(manual_loss(output.logits, batch.target, -100, 0, 0).ce).margin(1e-3));
  }
  SECTION("z-loss") {
    CrossEntropyLoss loss({-100, 0.0, 1e-2});
    const anvil::LossOutput out = loss.compute(output, batch);
    const ManualLoss expected = manual_loss(output.logits, batch.target, -100, 0, 1e-2);
    CHECK(metric(out.metrics, "ce") == Approx(expected.ce).margin(1e-6));
    CHECK(metric(out.metrics, "z_loss") == Approx(expected.z).margin(1e-6));
    CHECK(expected.z > 1e-3);
    CHECK(out.loss.item<double>() == Approx(expected.ce + expected.z).margin(1e-6));
  }
  SECTION("label smoothing and z-loss together") {
    CrossEntropyLoss loss({-100, 0.2, 0.5});
    const anvil::LossOutput out = loss.compute(output, batch);
    const ManualLoss expected = manual_loss(output.logits, batch.target, -100, 0.2, 0.5);
    CHECK(out.loss.item<double>() == Approx(expected.ce + expected.z).margin(1e-5));
  }
}

TEST_CASE("cross-entropy excludes ignore_index positions", "[loss][cross-entropy]") {
  at::manual_seed(5);
  anvil::ModelOutput output;
  output.logits = at::randn({1, 4, 6});
  anvil::Batch batch;
  batch.target = at::tensor(at::ArrayRef<std::int64_t>({2, 3, 3, 1}), at::kLong).reshape({1, 4});

  CrossEntropyLoss loss({3, 0.1, 0.1});  // ignore target 3
  const double before = loss.compute(output, batch).loss.item<double>();
  const ManualLoss expected = manual_loss(output.logits, batch.target, 3, 0.1, 0.1);
  REQUIRE(expected.counted == 2);
  CHECK(before == Approx(expected.ce + expected.z).margin(1e-6));
  // Changing the logits of ignored positions changes nothing.
  output.logits[0][1].fill_(100.0);
  output.logits[0][2].fill_(-50.0);
  CHECK(loss.compute(output, batch).loss.item<double>() == Approx(before).margin(1e-6));

  // All positions ignored: 0, not NaN.
  batch.target.fill_(3);
  const anvil::LossOutput none = loss.compute(output, batch);
  CHECK(none.loss.item<double>() == 0.0);
}

TEST_CASE("cross-entropy upcasts bfloat16 logits and checks shapes", "[loss][cross-entropy]") {
  at::manual_seed(2);
  anvil::ModelOutput output;
  output.logits = at::randn({2, 2, 4}).to(at::kBFloat16);
  anvil::Batch batch;
  batch.target = at::randint(0, 4, {2, 2}, at::kLong);
  CrossEntropyLoss loss({});
  const anvil::LossOutput out = loss.compute(output, batch);
  CHECK(out.loss.scalar_type() == at::kFloat);
  CHECK(out.loss.item<double>() ==
        Approx(manual_loss(output.logits, batch.target, -100, 0, 0).ce).margin(1e-5));

  batch.target = at::randint(0, 4, {2, 3}, at::kLong);
  CHECK_THROWS_AS(loss.compute(output, batch), anvil::Error);
  CHECK_THROWS_AS(CrossEntropyLoss({-100, 1.5, 0.0}), anvil::Error);
  CHECK_THROWS_AS(CrossEntropyLoss({-100, 0.0, -1.0}), anvil::Error);
}
