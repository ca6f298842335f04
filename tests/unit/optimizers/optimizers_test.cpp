// Tests of the "adam", "adamw" and "lion" optimizers: parameter values after each of 3 steps
// against torch.optim.Adam, torch.optim.AdamW and a hand-written Lion (reference.json in
// tests/fixtures/optimizers, written by make_reference.py there), then their state dicts,
// zero_grad and option checks. Parameters, gradients and references are float64 and must agree
// to 1e-12 relative (with LibTorch 1.13 they agree bit for bit; the tolerance leaves room for
// other versions' kernels).
#include "adam_optimizer.h"
#include "lion_optimizer.h"
#include "support/error_message.h"

#include <anvil/errors.h>

#include <ATen/core/grad_mode.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using anvil::builtin::AdamOptimizer;
using anvil::builtin::AdamOptions;
using anvil::builtin::LionOptimizer;
using anvil::builtin::LionOptions;
using nlohmann::json;
using anvil::test::error_message;

namespace {

const json& reference() {
  static const json data = [] {
    const std::string path = ANVIL_SOURCE_DIR "/tests/fixtures/optimizers/reference.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return json::parse(in);
  }();
  return data;
}

const json& reference_case(const std::string& name) {
  for (const json& c : reference()["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("reference.json has no case '" + name + "'");
}

at::Tensor doubles(const json& values, at::IntArrayRef shape) {
  const auto v = values.get<std::vector<double>>();
  return at::tensor(at::ArrayRef<double>(v), at::kDouble).reshape(shape);
}

std::vector<double> values_of(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}


std::unique_ptr<anvil::Optimizer> make_optimizer(const json& c) {
  const json& o = c["options"];
  const std::array<double, 2> betas = {o["betas"][0].get<double>(), o["betas"][1].get<double>()};
  if (c["optimizer"] == "lion") {
    LionOptions options;
    options.lr = o["lr"].get<double>();
    options.betas = betas;
    options.weight_decay = o["weight_decay"].get<double>();
    return std::make_unique<LionOptimizer>(options);
  }
  AdamOptions options;
  options.lr = o["lr"].get<double>();
  options.betas = betas;
  options.eps = o["eps"].get<double>();
  options.weight_decay = o["weight_decay"].get<double>();
  options.amsgrad = o["amsgrad"].get<bool>();
  options.decoupled_weight_decay = c["optimizer"] == "adamw";
  return std::make_unique<AdamOptimizer>(options);
}

// One reference case being run: the reference's initial parameters, grouped as the case says,
// and the optimizer updating them.
struct Run {
  const json& c;
  std::vector<at::Tensor> params;
  std::unique_ptr<anvil::Optimizer> optimizer;

  explicit Run(const json& reference_case) : c(reference_case), optimizer(make_optimizer(c)) {
    for (const json& p : reference()["params"])
      params.push_back(doubles(p["values"], p["shape"].get<std::vector<std::int64_t>>())
                           .clone()
                           .requires_grad_(true));
    std::vector<anvil::ParamGroup> groups;
    for (const json& g : c["groups"]) {
      anvil::ParamGroup group;
      group.name = g["name"].get<std::string>();
      for (const json& k : g["params"]) group.params.push_back(params[k.get<std::size_t>()]);
      if (g.contains("weight_decay")) group.weight_decay = g["weight_decay"].get<double>();
      group.lr_scale = g.value("lr_scale", 1.0);
      groups.push_back(std::move(group));
    }
    optimizer->add_param_groups(std::move(groups));
  }

  // Sets step s's learning rate and gradients (none where the case says so), and updates.
  void step(std::size_t s) {
    optimizer->set_lr(c["lr"][s].get<double>());
    for (std::size_t k = 0; k < params.size(); ++k) {
      const json& no_grad = c["no_grad"];
      if (std::find(no_grad.begin(), no_grad.end(), json::array({s, k})) != no_grad.end())
        params[k].mutable_grad().reset();
      else
        params[k].mutable_grad() = doubles(reference()["grads"][s][k], params[k].sizes());
    }
    optimizer->step();
  }

  // Checks the parameters against the reference's values after step s, and that the gradients
  // were inputs only (never changed in place).
  void check(std::size_t s) const {
    for (std::size_t k = 0; k < params.size(); ++k) {
      if (params[k].grad().defined())
        CHECK(params[k].grad().equal(doubles(reference()["grads"][s][k], params[k].sizes())));
      const auto expected = c["expected"][s][k].get<std::vector<double>>();
      const std::vector<double> got = values_of(params[k]);
      REQUIRE(got.size() == expected.size());
      for (std::size_t j = 0; j < got.size(); ++j) {
        INFO("param " << k << ", element " << j);
        CHECK(got[j] == Approx(expected[j]).epsilon(1e-12).margin(1e-15));
      }
    }
  }
};

// Runs the named reference cases, checking the parameters after each step.
void check_cases(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    INFO("case '" << name << "'");
    Run run(reference_case(name));
    for (std::size_t s = 0; s < run.c["expected"].size(); ++s) {
      INFO("after step " << s + 1);
      run.step(s);
      run.check(s);
    }
  }
}

// Every reference case of one optimizer.
std::vector<std::string> cases_of(const std::string& optimizer) {
  std::vector<std::string> names;
  for (const json& c : reference()["cases"])
    if (c["optimizer"] == optimizer) names.push_back(c["name"].get<std::string>());
  return names;
}

std::vector<std::string> names_of(const anvil::StateDict& state) {
  std::vector<std::string> names;
  for (const auto& entry : state) names.push_back(entry.first);
  return names;
}

const at::Tensor& entry(const anvil::StateDict& state, const std::string& name) {
  for (const auto& [n, t] : state)
    if (n == name) return t;
  throw std::runtime_error("no state entry '" + name + "'");
}

// `state` without the entry `name`.
anvil::StateDict without(anvil::StateDict state, const std::string& name) {
  for (auto it = state.begin(); it != state.end(); ++it)
    if (it->first == name) {
      state.erase(it);
      break;
    }
  return state;
}

// `state` with the entry `name` set to (or added as) `tensor`.
anvil::StateDict with(anvil::StateDict state, const std::string& name, at::Tensor tensor) {
  for (auto& [n, t] : state)
    if (n == name) {
      t = std::move(tensor);
      return state;
    }
  state.emplace_back(name, std::move(tensor));
  return state;
}

// Runs step 1 of a case, restores a fresh optimizer (over copies of the parameters) from the
// state, and checks both continue identically, and as the reference, for steps 2 and 3.
void check_round_trip(const std::string& name) {
  INFO("case '" << name << "'");
  const json& c = reference_case(name);
  Run first(c);
  first.step(0);
  const anvil::StateDict state = first.optimizer->state_dict();

  Run second(c);
  {
    at::NoGradGuard no_grad;
    for (std::size_t k = 0; k < first.params.size(); ++k) second.params[k].copy_(first.params[k]);
  }
  second.optimizer->load_state_dict(state);
  const anvil::StateDict loaded = second.optimizer->state_dict();
  REQUIRE(names_of(loaded) == names_of(state));
  for (std::size_t i = 0; i < state.size(); ++i) {
    INFO(state[i].first);
    CHECK(loaded[i].second.equal(state[i].second));
    // The loaded tensors are copies, not aliases of the tensors handed in.
    CHECK(loaded[i].second.data_ptr() != state[i].second.data_ptr());
  }
  for (std::size_t s = 1; s < 3; ++s) {
    first.step(s);
    second.step(s);
    for (std::size_t k = 0; k < first.params.size(); ++k)
      CHECK(first.params[k].equal(second.params[k]));
    second.check(s);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Updates against the reference

TEST_CASE("adam matches torch.optim.Adam after each of 3 steps", "[optimizer][adam]") {
  // Plain, L2 weight decay, amsgrad and a parameter that misses a step.
  const auto names = cases_of("adam");
  CHECK(names.size() == 4);
  check_cases(names);
}

TEST_CASE("adamw matches torch.optim.AdamW after each of 3 steps", "[optimizer][adamw]") {
  // Decoupled weight decay, amsgrad, the seed's betas, group settings and a schedule.
  const auto names = cases_of("adamw");
  CHECK(names.size() == 5);
  check_cases(names);
}

TEST_CASE("lion matches the reference implementation after each of 3 steps", "[optimizer][lion]") {
  const auto names = cases_of("lion");
  CHECK(names.size() == 3);
  check_cases(names);
}

TEST_CASE("adam bias correction counts each parameter's own updates", "[optimizer][adam]") {
  // Parameter 2 (group 0, param 1) has no gradient in step 2: it is left alone, and its t stays
  // one behind, as in torch.
  const json& c = reference_case("adam missing gradient");
  Run run(c);
  run.step(0);
  run.step(1);
  run.check(1);
  const anvil::StateDict state = run.optimizer->state_dict();
  CHECK(entry(state, "step").item<std::int64_t>() == 2);
  CHECK(entry(state, "group0.param0.step").item<std::int64_t>() == 2);
  CHECK(entry(state, "group0.param1.step").item<std::int64_t>() == 1);
  CHECK(values_of(run.params[2]) == c["expected"][0][2].get<std::vector<double>>());
  run.step(2);
  run.check(2);
}

TEST_CASE("group weight decay and lr_scale are respected", "[optimizer][adamw][lion]") {
  // Group "decay" sets weight_decay 0.05 over the option's 0.1; group "no_decay" sets 0 and
  // lr_scale 0.5.
  check_cases(
      {"adamw group weight decay and lr_scale", "lion lr_scale set_lr and missing gradient"});
  // The exempt group of an adam run with weight decay moves exactly as without weight decay.
  Run decayed(reference_case("adam weight decay"));
  for (std::size_t s = 0; s < 3; ++s) decayed.step(s);
  CHECK(values_of(decayed.params[1]) ==
        reference_case("adam")["expected"][2][1].get<std::vector<double>>());
  CHECK(values_of(decayed.params[0]) !=
        reference_case("adam")["expected"][2][0].get<std::vector<double>>());

  AdamOptions options;
  options.weight_decay = 0.1;
  const AdamOptimizer adam(options);
  CHECK(adam.weight_decay_for(anvil::ParamGroup{"unset", {}}) == 0.1);
  CHECK(adam.weight_decay_for(anvil::ParamGroup{"set", {}, 0.05}) == 0.05);
  CHECK(adam.weight_decay_for(anvil::ParamGroup{"exempt", {}, 0.0}) == 0.0);
  LionOptions lion_options;
  lion_options.weight_decay = 0.2;
  const LionOptimizer lion(lion_options);
  CHECK(lion.weight_decay_for(anvil::ParamGroup{"unset", {}}) == 0.2);
  CHECK(lion.weight_decay_for(anvil::ParamGroup{"exempt", {}, 0.0}) == 0.0);
}

TEST_CASE("set_lr between steps applies from the next step", "[optimizer][adamw][lion]") {
  // Learning rates 1e-2, 5e-3 and 2e-2 for steps 1 to 3.
  check_cases({"adamw set_lr between steps", "lion lr_scale set_lr and missing gradient"});
  Run run(reference_case("adamw set_lr between steps"));
  CHECK(run.optimizer->lr() == 1e-2);
  run.optimizer->set_lr(0.0);  // warm-up starts at 0
  CHECK(run.optimizer->lr() == 0.0);
  CHECK_THROWS_WITH(run.optimizer->set_lr(-1e-3), Catch::Contains("adamw"));
  LionOptimizer lion({});
  CHECK_THROWS_AS(lion.set_lr(-1.0), anvil::Error);
  lion.set_lr(3e-4);
  CHECK(lion.lr() == 3e-4);
}

TEST_CASE("zero_grad clears the gradients and a step without any changes nothing",
          "[optimizer][adam][lion]") {
  for (const std::string name : {"adam amsgrad", "lion weight decay"}) {
    INFO("case '" << name << "'");
    Run run(reference_case(name));
    for (at::Tensor& p : run.params) p.mutable_grad() = at::ones_like(p);
    run.optimizer->zero_grad();
    std::vector<std::vector<double>> before;
    for (const at::Tensor& p : run.params) {
      CHECK_FALSE(p.grad().defined());
      before.push_back(values_of(p));
    }
    run.optimizer->step();
    for (std::size_t k = 0; k < run.params.size(); ++k)
      CHECK(values_of(run.params[k]) == before[k]);
    // No parameter was updated, so none has state yet.
    CHECK(names_of(run.optimizer->state_dict()) == std::vector<std::string>{"step"});
  }
}

// ---------------------------------------------------------------------------------------------
// State

TEST_CASE("adam state_dict names every moment", "[optimizer][adam][state]") {
  Run run(reference_case("adam amsgrad"));
  run.step(0);
  const anvil::StateDict state = run.optimizer->state_dict();
  // Group 0 holds parameters 0 and 2, group 1 parameter 1.
  std::vector<std::string> expected = {"step"};
  for (const char* param : {"group0.param0.", "group0.param1.", "group1.param0."})
    for (const char* field : {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"})
      expected.push_back(std::string(param) + field);
  CHECK(names_of(state) == expected);
  CHECK(entry(state, "step").item<std::int64_t>() == 1);
  CHECK(entry(state, "group1.param0.step").item<std::int64_t>() == 1);
  CHECK(entry(state, "group0.param1.exp_avg").sizes() == run.params[2].sizes());
  CHECK(entry(state, "group1.param0.max_exp_avg_sq").sizes() == run.params[1].sizes());

  Run plain(reference_case("adamw"));
  plain.step(0);
  CHECK(plain.optimizer->state_dict().size() == 1 + 3 * 3);  // no max_exp_avg_sq

  Run lion(reference_case("lion"));
  lion.step(0);
  CHECK(names_of(lion.optimizer->state_dict()) ==
        std::vector<std::string>{"step", "group0.param0.exp_avg", "group0.param1.exp_avg",
                                 "group1.param0.exp_avg"});
}

TEST_CASE("a restored optimizer continues exactly like the original", "[optimizer][state]") {
  check_round_trip("adam amsgrad");
  check_round_trip("adamw group weight decay and lr_scale");
  check_round_trip("lion lr_scale set_lr and missing gradient");
}

TEST_CASE("adam load_state_dict names the bad entry and changes nothing",
          "[optimizer][adam][state]") {
  Run run(reference_case("adam weight decay"));
  run.step(0);
  const anvil::StateDict good = run.optimizer->state_dict();
  // Copies: the live moments would otherwise change along with the optimizer.
  anvil::StateDict saved;
  for (const auto& [name, tensor] : good) saved.emplace_back(name, tensor.clone());
  const auto load = [&](const anvil::StateDict& state) {
    return error_message([&] { run.optimizer->load_state_dict(state); });
  };

  CHECK_THAT(load(without(saved, "group0.param1.exp_avg_sq")),
             Catch::Contains("no entry 'group0.param1.exp_avg_sq'"));
  CHECK_THAT(load(without(saved, "group1.param0.step")), Catch::Contains("'group1.param0.step'"));
  CHECK_THAT(load(with(saved, "group0.param0.exp_avg", at::zeros({2}, at::kDouble))),
             Catch::Contains("'group0.param0.exp_avg'") && Catch::Contains("shape [2]") &&
                 Catch::Contains("[3, 4]"));
  CHECK_THAT(load(with(saved, "group0.param0.max_exp_avg_sq", at::zeros({3, 4}, at::kDouble))),
             Catch::Contains("'group0.param0.max_exp_avg_sq'") && Catch::Contains("amsgrad"));
  CHECK_THAT(load(with(saved, "group0.param0.step", at::zeros({}, at::kLong))),
             Catch::Contains("'group0.param0.step'") && Catch::Contains("at least one update"));
  CHECK_THAT(load(with(saved, "group2.param0.exp_avg", at::zeros({4}, at::kDouble))),
             Catch::Contains("'group2.param0.exp_avg'") && Catch::Contains("group 2"));
  CHECK_THAT(load(with(saved, "group1.param3.exp_avg", at::zeros({4}, at::kDouble))),
             Catch::Contains("param 3"));
  CHECK_THAT(load(with(saved, "group0.param0.momentum_buffer", at::zeros({3, 4}, at::kDouble))),
             Catch::Contains("'group0.param0.momentum_buffer'") &&
                 Catch::Contains("not a state of the adam optimizer"));
  CHECK_THAT(load(without(saved, "step")), Catch::Contains("no entry 'step'"));
  anvil::StateDict twice = saved;
  twice.push_back(saved[1]);
  CHECK_THAT(load(twice), Catch::Contains("'group0.param0.step'") && Catch::Contains("twice"));

  // Nothing was loaded: the state is still that of the one real step.
  const anvil::StateDict after = run.optimizer->state_dict();
  REQUIRE(names_of(after) == names_of(saved));
  for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].second.equal(saved[i].second));

  // An amsgrad optimizer needs the maximum too.
  Run amsgrad(reference_case("adam amsgrad"));
  CHECK_THAT(error_message([&] { amsgrad.optimizer->load_state_dict(saved); }),
             Catch::Contains("no entry 'group0.param0.max_exp_avg_sq'"));

  // A state of "step" alone clears the moments: the next update starts afresh, at t = 1.
  run.optimizer->load_state_dict({{"step", saved[0].second}});
  CHECK(run.optimizer->state_dict().size() == 1);
  run.step(0);
  CHECK(entry(run.optimizer->state_dict(), "group0.param0.step").item<std::int64_t>() == 1);
}

TEST_CASE("lion load_state_dict names the bad entry and changes nothing",
          "[optimizer][lion][state]") {
  Run run(reference_case("lion"));
  run.step(0);
  anvil::StateDict saved;
  for (const auto& [name, tensor] : run.optimizer->state_dict())
    saved.emplace_back(name, tensor.clone());
  const auto load = [&](const anvil::StateDict& state) {
    return error_message([&] { run.optimizer->load_state_dict(state); });
  };
  CHECK_THAT(load(with(saved, "group0.param1.exp_avg", at::zeros({8}, at::kDouble))),
             Catch::Contains("'group0.param1.exp_avg'") && Catch::Contains("shape [8]") &&
                 Catch::Contains("[2, 2, 2]"));
  CHECK_THAT(load(with(saved, "group0.param0.exp_avg_sq", at::zeros({3, 4}, at::kDouble))),
             Catch::Contains("'group0.param0.exp_avg_sq'") &&
                 Catch::Contains("not a state of the lion optimizer"));
  CHECK_THAT(load(with(saved, "group1.param1.exp_avg", at::zeros({4}, at::kDouble))),
             Catch::Contains("param 1"));
  CHECK_THAT(load(without(saved, "step")), Catch::Contains("no entry 'step'"));
  const anvil::StateDict after = run.optimizer->state_dict();
  REQUIRE(names_of(after) == names_of(saved));
  for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].second.equal(saved[i].second));
}

// ---------------------------------------------------------------------------------------------
// Options

TEST_CASE("adam and adamw reject invalid options", "[optimizer][adam][options]") {
  const auto adam_error = [](const std::function<void(AdamOptions&)>& change) {
    AdamOptions options;
    options.decoupled_weight_decay = true;
    change(options);
    return error_message([&] { AdamOptimizer optimizer(options); });
  };
  CHECK_THAT(adam_error([](AdamOptions& o) { o.lr = -1e-3; }),
             Catch::StartsWith("adamw: lr must be a positive number"));
  CHECK_THAT(adam_error([](AdamOptions& o) { o.lr = 0; }), Catch::Contains("lr"));
  CHECK_THAT(adam_error([](AdamOptions& o) {
               o.betas = {1.0, 0.999};
             }),
             Catch::Contains("betas[0] must be in [0, 1)"));
  CHECK_THAT(adam_error([](AdamOptions& o) {
               o.betas = {0.9, -0.1};
             }),
             Catch::Contains("betas[1] must be in [0, 1)"));
  CHECK_THAT(adam_error([](AdamOptions& o) { o.eps = -1e-8; }), Catch::Contains("eps"));
  CHECK_THAT(adam_error([](AdamOptions& o) { o.weight_decay = -0.01; }),
             Catch::Contains("weight_decay"));
  CHECK_THAT(adam_error([](AdamOptions& o) {
               o.decoupled_weight_decay = false;
               o.lr = -1;
             }),
             Catch::StartsWith("adam: "));
  // The seed's recipe is valid as written.
  CHECK(adam_error([](AdamOptions& o) {
          o.lr = 5e-5;
          o.betas = {0.9, 0.98};
        }) == "<no anvil::Error>");

  AdamOptimizer adam({});
  CHECK_THROWS_WITH(adam.add_param_groups({anvil::ParamGroup{"bad", {}, -0.1}}),
                    Catch::Contains("group 'bad'"));
}

TEST_CASE("lion rejects invalid options", "[optimizer][lion][options]") {
  const auto lion_error = [](const std::function<void(LionOptions&)>& change) {
    LionOptions options;
    change(options);
    return error_message([&] { LionOptimizer optimizer(options); });
  };
  CHECK_THAT(lion_error([](LionOptions& o) { o.lr = -1e-4; }),
             Catch::StartsWith("lion: lr must be a positive number"));
  CHECK_THAT(lion_error([](LionOptions& o) {
               o.betas = {0.9, 1.0};
             }),
             Catch::Contains("betas[1] must be in [0, 1)"));
  CHECK_THAT(lion_error([](LionOptions& o) {
               o.betas = {-0.5, 0.99};
             }),
             Catch::Contains("betas[0]"));
  CHECK_THAT(lion_error([](LionOptions& o) { o.weight_decay = -1; }),
             Catch::Contains("weight_decay"));
  CHECK(lion_error([](LionOptions&) {}) == "<no anvil::Error>");
  LionOptimizer lion({});
  CHECK_THROWS_WITH(lion.add_param_groups({anvil::ParamGroup{"bad", {}, -0.1}}),
                    Catch::Contains("group 'bad'"));
}
