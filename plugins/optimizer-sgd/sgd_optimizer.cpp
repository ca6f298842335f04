// The sgd optimizer (see sgd_optimizer.h for the update rule).
#include "sgd_optimizer.h"

#include <anvil/errors.h>

#include <ATen/core/grad_mode.h>
#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/scalar_tensor.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace anvil::builtin {

namespace {

std::string state_name(std::size_t group, std::size_t param) {
  return "group" + std::to_string(group) + ".param" + std::to_string(param) + ".momentum_buffer";
}

// Reads a decimal index at the front of `text` and removes it.
std::optional<std::size_t> take_index(std::string_view& text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

// Parses "group{g}.param{i}.momentum_buffer".
bool parse_state_name(std::string_view name, std::size_t& group, std::size_t& param) {
  const auto take = [&](std::string_view prefix) {
    if (name.substr(0, prefix.size()) != prefix) return false;
    name.remove_prefix(prefix.size());
    return true;
  };
  if (!take("group")) return false;
  const auto g = take_index(name);
  if (!g || !take(".param")) return false;
  const auto p = take_index(name);
  if (!p || name != ".momentum_buffer") return false;
  group = *g;
  param = *p;
  return true;
}

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

}  // namespace

SgdOptimizer::SgdOptimizer(SgdOptions options) : options_(options) {
  const auto check = [](bool ok, const std::string& message) {
    if (!ok) throw Error("sgd: " + message);
  };
  check(options_.lr > 0 && std::isfinite(options_.lr), "lr must be a positive number");
  check(options_.momentum >= 0 && options_.momentum <= 1, "momentum must be in [0, 1]");
  check(options_.dampening >= 0 && options_.dampening <= 1, "dampening must be in [0, 1]");
  check(options_.weight_decay >= 0 && std::isfinite(options_.weight_decay),
        "weight_decay must be >= 0");
  check(!options_.nesterov || (options_.momentum > 0 && options_.dampening == 0),
        "nesterov needs momentum > 0 and dampening = 0");
}

void SgdOptimizer::add_param_groups(std::vector<ParamGroup> groups) {
  for (ParamGroup& group : groups) {
    ANVIL_CHECK(group.weight_decay.value_or(0.0) >= 0, "sgd: group '", group.name,
                "' has negative weight_decay");
    Group g;
    g.momentum_buffers.resize(group.params.size());
    g.group = std::move(group);
    groups_.push_back(std::move(g));
  }
}

void SgdOptimizer::step() {
  at::NoGradGuard no_grad;
  for (Group& g : groups_) {
    // Gather the parameters that received a gradient; the rest are skipped entirely.
    std::vector<at::Tensor> params, grads, bufs;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < g.group.params.size(); ++i) {
      const at::Tensor& p = g.group.params[i];
      const at::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      ANVIL_CHECK(!grad.is_sparse(), "sgd: sparse gradients are not supported (group '",
                  g.group.name, "', param ", i, ")");
      params.push_back(p);
      grads.push_back(grad);
      index.push_back(i);
    }
    if (params.empty()) continue;

    const double lr = options_.lr * g.group.lr_scale;
    const double weight_decay = weight_decay_for(g.group);
    const double momentum = options_.momentum;

    // d = g + wd * p, in new tensors: the .grad() tensors are left untouched.
    std::vector<at::Tensor> d =
        weight_decay != 0 ? at::_foreach_add(grads, params, weight_decay) : grads;
    if (momentum != 0) {
      bool all_have_buffer = true;
      for (const std::size_t i : index)
        all_have_buffer = all_have_buffer && g.momentum_buffers[i].defined();
      if (all_have_buffer) {
        for (const std::size_t i : index) bufs.push_back(g.momentum_buffers[i]);
        at::_foreach_mul_(bufs, momentum);
        at::_foreach_add_(bufs, d, 1.0 - options_.dampening);
      } else {
        // First update of some parameter: its buffer starts as d itself (torch semantics).
        for (std::size_t k = 0; k < index.size(); ++k) {
          at::Tensor& buf = g.momentum_buffers[index[k]];
          if (!buf.defined()) {
            buf = d[k].detach().clone();
          } else {
            buf.mul_(momentum).add_(d[k], 1.0 - options_.dampening);
          }
          bufs.push_back(buf);
        }
      }
      // Not in place on d: without weight decay d aliases the gradients.
      d = options_.nesterov ? at::_foreach_add(d, bufs, momentum) : bufs;
    }
    at::_foreach_add_(params, d, -lr);
  }
  ++step_;
}

void SgdOptimizer::zero_grad() {
  for (Group& g : groups_)
    for (at::Tensor& p : g.group.params) p.mutable_grad().reset();
}

void SgdOptimizer::set_lr(double lr) {
  ANVIL_CHECK(lr >= 0 && std::isfinite(lr), "sgd: learning rate must be finite and >= 0, got ", lr);
  options_.lr = lr;
}

StateDict SgdOptimizer::state_dict() const {
  StateDict state;
  state.emplace_back("step", at::scalar_tensor(step_, at::kLong));
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const auto& bufs = groups_[g].momentum_buffers;
    for (std::size_t i = 0; i < bufs.size(); ++i)
      if (bufs[i].defined()) state.emplace_back(state_name(g, i), bufs[i]);
  }
  return state;
}

void SgdOptimizer::load_state_dict(const StateDict& state) {
  std::optional<std::int64_t> step;
  std::vector<std::vector<at::Tensor>> buffers(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g)
    buffers[g].resize(groups_[g].group.params.size());

  for (const auto& [name, tensor] : state) {
    const auto fail = [&name = name](const std::string& message) {
      throw Error("sgd: state entry '" + name + "' " + message,
                  "load state saved by the same optimizer for the same parameter groups");
    };
    if (!tensor.defined()) fail("is an undefined tensor");
    if (name == "step") {
      if (step) fail("appears twice");
      if (tensor.numel() != 1) fail("must hold one value, found " + std::to_string(tensor.numel()));
      step = tensor.item<std::int64_t>();
      continue;
    }
    std::size_t g = 0, i = 0;
    if (!parse_state_name(name, g, i)) fail("is not a state of the sgd optimizer");
    if (g >= groups_.size())
      fail("refers to group " + std::to_string(g) + ", but there are " +
           std::to_string(groups_.size()) + " groups");
    const auto& params = groups_[g].group.params;
    if (i >= params.size())
      fail("refers to param " + std::to_string(i) + ", but group " + std::to_string(g) + " has " +
           std::to_string(params.size()) + " params");
    if (buffers[g][i].defined()) fail("appears twice");
    if (tensor.sizes() != params[i].sizes())
      fail("has shape " + shape_text(tensor.sizes()) + ", but the parameter has shape " +
           shape_text(params[i].sizes()));
    // An owned copy on the parameter's device and dtype, detached from the caller's tensor.
    buffers[g][i] = tensor.detach().to(params[i].device(), params[i].scalar_type(),
                                       /*non_blocking=*/false, /*copy=*/true);
  }
  if (!step)
    throw Error("sgd: state has no entry 'step'",
                "load state saved by the same optimizer for the same parameter groups");

  for (std::size_t g = 0; g < groups_.size(); ++g)
    groups_[g].momentum_buffers = std::move(buffers[g]);
  step_ = *step;
}

}  // namespace anvil::builtin
