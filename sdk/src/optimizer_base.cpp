// GroupedOptimizer: parameter groups, per-parameter state and its validated import, shared by
// the optimizers (see anvil/optimizer_base.h).
#include <anvil/errors.h>
#include <anvil/optimizer_base.h>
#include <anvil/options.h>

#include <ATen/core/grad_mode.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/zeros_like.h>

#include <charconv>
#include <cmath>
#include <sstream>
#include <utility>

namespace anvil {

namespace {

// Reads a decimal index at the front of `text` and removes it.
std::optional<std::size_t> take_index(std::string_view& text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

// Whether a saved tensor's dtype can stand for a value of dtype `want` (it is converted to it):
// floating point for floating point, complex for complex, integral for integral.
bool same_dtype_kind(at::ScalarType have, at::ScalarType want) {
  return c10::isFloatingType(have) == c10::isFloatingType(want) &&
         c10::isComplexType(have) == c10::isComplexType(want) &&
         c10::isIntegralType(have, /*includeBool=*/true) ==
             c10::isIntegralType(want, /*includeBool=*/true);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// GroupUpdate

GroupedOptimizer::GroupUpdate::GroupUpdate(const ParamGroup& group_, std::size_t group_index_,
                                           double lr_, double weight_decay_,
                                           std::vector<ParamState>& state)
    : group(group_),
      group_index(group_index_),
      lr(lr_),
      weight_decay(weight_decay_),
      state_(state) {}

at::Tensor& GroupedOptimizer::GroupUpdate::state(std::size_t field, std::size_t k) {
  return state_.at(indices.at(k)).tensors.at(field);
}

std::int64_t& GroupedOptimizer::GroupUpdate::count(std::size_t field, std::size_t k) {
  return state_.at(indices.at(k)).counts.at(field);
}

std::vector<at::Tensor> GroupedOptimizer::GroupUpdate::states(std::size_t field) const {
  std::vector<at::Tensor> out;
  out.reserve(indices.size());
  for (const std::size_t i : indices) out.push_back(state_.at(i).tensors.at(field));
  return out;
}

std::vector<at::Tensor> GroupedOptimizer::GroupUpdate::states_or_zeros(std::size_t field) {
  std::vector<at::Tensor> out;
  out.reserve(indices.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    at::Tensor& slot = state(field, k);
    if (!slot.defined()) slot = at::zeros_like(params[k], at::MemoryFormat::Preserve);
    out.push_back(slot);
  }
  return out;
}

bool GroupedOptimizer::GroupUpdate::has_states(std::size_t field) const {
  for (const std::size_t i : indices)
    if (!state_.at(i).tensors.at(field).defined()) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Options

GroupedOptimizer::GroupedOptimizer(std::string name, double lr, double weight_decay,
                                   std::vector<StateField> fields)
    : name_(std::move(name)),
      lr_(lr),
      default_weight_decay_(weight_decay),
      fields_(std::move(fields)) {
  check_option(lr_ > 0 && std::isfinite(lr_), "lr must be a positive number");
  check_option(default_weight_decay_ >= 0 && std::isfinite(default_weight_decay_),
               "weight_decay must be >= 0");
  for (std::size_t f = 0; f < fields_.size(); ++f) {
    ANVIL_CHECK(!fields_[f].name.empty(), name_, ": state field ", f, " has no name");
    for (std::size_t e = 0; e < f; ++e)
      ANVIL_CHECK(fields_[e].name != fields_[f].name, name_, ": state field '", fields_[f].name,
                  "' is declared twice");
  }
}

void GroupedOptimizer::check_option(bool ok, const std::string& message) const {
  if (!ok) throw Error(name_ + ": " + message);
}

void GroupedOptimizer::check_betas(const std::array<double, 2>& betas) const {
  for (std::size_t k = 0; k < betas.size(); ++k)
    check_option(betas[k] >= 0 && betas[k] < 1, "betas[" + std::to_string(k) +
                                                     "] must be in [0, 1), got " +
                                                     std::to_string(betas[k]));
}

double GroupedOptimizer::read_lr(const Options& options) {
  const double lr = options.get<double>("lr");
  // The check the schema's inclusive bound cannot express.
  if (!(lr > 0)) options.error("lr", "must be greater than 0");
  return lr;
}

std::optional<std::array<double, 2>> GroupedOptimizer::read_betas(const Options& options,
                                                                  std::string_view example) {
  const auto betas = options.get<std::vector<double>>("betas");
  if (betas.size() != 2) {
    options.error("betas", "must hold 2 values, found " + std::to_string(betas.size()),
                  "write betas = [beta1, beta2], e.g. " + std::string(example));
    return std::nullopt;
  }
  // The schema's range is inclusive; a beta of 1 would never forget.
  if (!(betas[0] < 1 && betas[1] < 1)) options.error("betas", "each value must be less than 1");
  return std::array<double, 2>{betas[0], betas[1]};
}

// ---------------------------------------------------------------------------------------------
// Groups and steps

void GroupedOptimizer::add_param_groups(std::vector<ParamGroup> groups) {
  for (const ParamGroup& group : groups)
    ANVIL_CHECK(group.weight_decay.value_or(0.0) >= 0, name_, ": group '", group.name,
                "' has negative weight_decay");
  for (ParamGroup& group : groups) {
    Group g;
    g.state.resize(group.params.size(), ParamState{std::vector<at::Tensor>(fields_.size()),
                                                   std::vector<std::int64_t>(fields_.size())});
    g.group = std::move(group);
    groups_.push_back(std::move(g));
  }
}

void GroupedOptimizer::step() {
  at::NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    Group& group = groups_[g];
    GroupUpdate update(group.group, g, lr_ * group.group.lr_scale, weight_decay_for(group.group),
                       group.state);
    // Gather the parameters that received a gradient (the rest are skipped entirely), checking
    // them all before any state changes.
    for (std::size_t i = 0; i < group.group.params.size(); ++i) {
      const at::Tensor& p = group.group.params[i];
      const at::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      ANVIL_CHECK(!grad.is_sparse(), name_, ": sparse gradients are not supported (group '",
                  group.group.name, "', param ", i, ")");
      update.params.push_back(p);
      update.grads.push_back(grad);
      update.indices.push_back(i);
    }
    if (update.params.empty()) continue;
    update_group(update);
  }
  ++step_;
}

void GroupedOptimizer::zero_grad() {
  for (Group& g : groups_)
    for (at::Tensor& p : g.group.params) p.mutable_grad().reset();
}

void GroupedOptimizer::set_lr(double lr) {
  ANVIL_CHECK(lr >= 0 && std::isfinite(lr), name_, ": learning rate must be finite and >= 0, got ",
              lr);
  lr_ = lr;
}

// ---------------------------------------------------------------------------------------------
// State

std::string GroupedOptimizer::state_name(std::size_t group, std::size_t param,
                                         std::string_view field) {
  return "group" + std::to_string(group) + ".param" + std::to_string(param) + "." +
         std::string(field);
}

std::optional<GroupedOptimizer::StateName> GroupedOptimizer::parse_state_name(
    std::string_view name) {
  const auto take = [&](std::string_view prefix) {
    if (name.substr(0, prefix.size()) != prefix) return false;
    name.remove_prefix(prefix.size());
    return true;
  };
  if (!take("group")) return std::nullopt;
  const auto g = take_index(name);
  if (!g || !take(".param")) return std::nullopt;
  const auto p = take_index(name);
  if (!p || !take(".") || name.empty()) return std::nullopt;
  return StateName{*g, *p, std::string(name)};
}

std::string GroupedOptimizer::load_state_hint() const {
  return "load state saved by the same optimizer for the same parameter groups";
}

StateDict GroupedOptimizer::state_dict() const {
  StateDict state;
  state.emplace_back("step", at::scalar_tensor(step_, at::kLong));
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const auto& params = groups_[g].state;
    for (std::size_t i = 0; i < params.size(); ++i) {
      for (std::size_t f = 0; f < fields_.size(); ++f) {
        const StateField& field = fields_[f];
        if (!field.unused.empty()) continue;
        if (field.kind == StateField::Kind::count) {
          if (params[i].counts[f] != 0)
            state.emplace_back(state_name(g, i, field.name),
                               at::scalar_tensor(params[i].counts[f], at::kLong));
        } else if (params[i].tensors[f].defined()) {
          state.emplace_back(state_name(g, i, field.name), params[i].tensors[f]);
        }
      }
    }
  }
  return state;
}

void GroupedOptimizer::load_state_dict(const StateDict& state) {
  const std::string hint = load_state_hint();

  // Everything is read into `loaded` (per group, per param) and checked before any of it
  // replaces the current state.
  std::optional<std::int64_t> step;
  std::vector<std::vector<ParamState>> loaded(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g)
    loaded[g].resize(groups_[g].state.size(),
                     ParamState{std::vector<at::Tensor>(fields_.size()),
                                std::vector<std::int64_t>(fields_.size())});

  for (const auto& [name, tensor] : state) {
    const auto fail = [&, &name = name](const std::string& message) {
      throw Error(name_ + ": state entry '" + name + "' " + message, hint);
    };
    // A count: one integral value.
    const auto count_of = [&]() {
      if (tensor.numel() != 1) fail("must hold one value, found " + std::to_string(tensor.numel()));
      if (!c10::isIntegralType(tensor.scalar_type(), /*includeBool=*/false))
        fail(std::string("has dtype ") + c10::toString(tensor.scalar_type()) +
             ", but a count must be an integer");
      return tensor.item<std::int64_t>();
    };
    if (!tensor.defined()) fail("is an undefined tensor");
    if (name == "step") {
      if (step) fail("appears twice");
      step = count_of();
      continue;
    }
    const std::optional<StateName> parsed = parse_state_name(name);
    std::size_t f = 0;
    while (parsed && f < fields_.size() && fields_[f].name != parsed->field) ++f;
    if (!parsed || f == fields_.size()) fail("is not a state of the " + name_ + " optimizer");
    const StateField& field = fields_[f];
    if (!field.unused.empty()) fail(field.unused);
    const std::size_t g = parsed->group, i = parsed->param;
    if (g >= groups_.size())
      fail("refers to group " + std::to_string(g) + ", but there are " +
           std::to_string(groups_.size()) + " groups");
    const auto& params = groups_[g].group.params;
    if (i >= params.size())
      fail("refers to param " + std::to_string(i) + ", but group " + std::to_string(g) + " has " +
           std::to_string(params.size()) + " params");
    ParamState& slot = loaded[g][i];
    if (slot.tensors[f].defined() || slot.counts[f] != 0) fail("appears twice");
    if (field.kind == StateField::Kind::count) {
      const std::int64_t count = count_of();
      if (count < 1) fail("must count at least one update");
      slot.counts[f] = count;
      continue;
    }
    if (tensor.sizes() != params[i].sizes())
      fail("has shape " + shape_text(tensor.sizes()) + ", but the parameter has shape " +
           shape_text(params[i].sizes()));
    if (!same_dtype_kind(tensor.scalar_type(), params[i].scalar_type()))
      fail(std::string("has dtype ") + c10::toString(tensor.scalar_type()) +
           ", but the parameter has dtype " + c10::toString(params[i].scalar_type()));
    // An owned copy on the parameter's device and dtype, detached from the caller's tensor.
    slot.tensors[f] = tensor.detach().to(params[i].device(), params[i].scalar_type(),
                                         /*non_blocking=*/false, /*copy=*/true);
  }
  if (!step) throw Error(name_ + ": state has no entry 'step'", hint);

  // A parameter's entries come all together or not at all.
  for (std::size_t g = 0; g < loaded.size(); ++g) {
    for (std::size_t i = 0; i < loaded[g].size(); ++i) {
      const ParamState& s = loaded[g][i];
      const auto has = [&](std::size_t f) { return s.tensors[f].defined() || s.counts[f] != 0; };
      bool any = false;
      for (std::size_t f = 0; f < fields_.size(); ++f) any = any || has(f);
      if (!any) continue;
      for (std::size_t f = 0; f < fields_.size(); ++f)
        if (fields_[f].unused.empty() && !has(f))
          throw Error(name_ + ": state has no entry '" + state_name(g, i, fields_[f].name) +
                          "', but has other entries of that parameter",
                      hint);
    }
  }

  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].state = std::move(loaded[g]);
  step_ = *step;
}

}  // namespace anvil
