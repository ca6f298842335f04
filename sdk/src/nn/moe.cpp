#include <anvil/nn/moe.h>

#include <anvil/errors.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>

namespace anvil::nn {

ExpertDispatch dispatch_by_expert(const Routing& routing, std::int64_t n_experts,
                                  std::int64_t capacity) {
  const std::int64_t k = routing.experts.size(1);
  const at::Tensor flat = routing.experts.reshape({-1});
  const at::Tensor counts = at::bincount(flat, {}, n_experts);
  const at::Tensor order = std::get<1>(at::sort(flat, c10::optional<bool>(true), /*dim=*/0, /*descending=*/false));
  ExpertDispatch dispatch;
  dispatch.load = counts.to(at::kFloat);
  dispatch.tokens = at::div(order, k, "floor");
  dispatch.weights = routing.weights.reshape({-1}).index_select(0, order);
  const at::Tensor host = counts.to(at::kCPU).contiguous();
  dispatch.counts.assign(host.data_ptr<std::int64_t>(), host.data_ptr<std::int64_t>() + n_experts);
  if (capacity <= 0) return dispatch;

  // An assignment's rank among its expert's is its sorted position minus the expert's start.
  const at::Tensor starts = counts.cumsum(0) - counts;
  const at::Tensor rank =
      at::arange(order.size(0), counts.options()) - starts.index_select(0, flat.index_select(0, order));
  const at::Tensor keep = rank < capacity;
  dispatch.tokens = dispatch.tokens.masked_select(keep);
  dispatch.weights = dispatch.weights.masked_select(keep);
  for (std::int64_t& count : dispatch.counts) {
    dispatch.dropped += std::max<std::int64_t>(0, count - capacity);
    count = std::min(count, capacity);
  }
  return dispatch;
}

GroupedExpertsImpl::GroupedExpertsImpl(std::int64_t n_experts_, std::int64_t dim_,
                                       std::int64_t hidden_)
    : n_experts(n_experts_), dim(dim_), hidden(hidden_) {
  ANVIL_CHECK(n_experts > 0 && dim > 0 && hidden > 0,
              "experts: n_experts, dim and hidden must be positive, got ", n_experts, ", ", dim,
              ", ", hidden);
  reset();
}

void GroupedExpertsImpl::reset() {
  const auto uniform = [](std::vector<std::int64_t> shape, std::int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    return at::empty(shape).uniform_(-bound, bound);
  };
  at::NoGradGuard no_grad;
  w1 = register_parameter("w1", uniform({n_experts, hidden, dim}, dim));
  w2 = register_parameter("w2", uniform({n_experts, dim, hidden}, hidden));
  w3 = register_parameter("w3", uniform({n_experts, hidden, dim}, dim));
}

at::Tensor GroupedExpertsImpl::forward(const at::Tensor& x, const std::vector<std::int64_t>& counts) {
  ANVIL_CHECK(static_cast<std::int64_t>(counts.size()) == n_experts, "experts: ", counts.size(),
              " counts for ", n_experts, " experts");
  // unbind, not w1[e]: the backward of unbind stacks the experts' gradients once, where E
  // selects would each materialise a full-size zero gradient.
  const std::vector<at::Tensor> gate = w1.unbind(0), down = w2.unbind(0), up = w3.unbind(0);
  std::vector<at::Tensor> outputs;
  std::int64_t start = 0;
  for (std::int64_t e = 0; e < n_experts; ++e) {
    const std::int64_t count = counts[static_cast<std::size_t>(e)];
    if (count == 0) continue;
    const at::Tensor rows = x.narrow(0, start, count);
    const at::Tensor h = at::silu(at::linear(rows, gate[e])) * at::linear(rows, up[e]);
    outputs.push_back(at::linear(h, down[e]));
    start += count;
  }
  ANVIL_CHECK(start == x.size(0), "experts: counts add up to ", start, " but x has ", x.size(0),
              " rows");
  if (outputs.empty()) return x.new_zeros({0, dim});
  return at::cat(outputs);
}

std::string to_string(BalanceLoss loss) {
  switch (loss) {
    case BalanceLoss::none: return "none";
    case BalanceLoss::sequence: return "sequence";
    case BalanceLoss::batch: return "batch";
  }
  return "?";
}

BalanceLoss parse_balance_loss(const std::string& name) {
  for (BalanceLoss loss : {BalanceLoss::none, BalanceLoss::sequence, BalanceLoss::batch})
    if (to_string(loss) == name) return loss;
  throw Error("balance loss must be \"none\", \"sequence\" or \"batch\", got \"" + name + "\"");
}

at::Tensor balance_loss(const Routing& routing, std::int64_t batch, std::int64_t n_experts,
                        BalanceLoss kind, double coef) {
  const at::Tensor& p = routing.probabilities;
  if (kind == BalanceLoss::none || coef == 0) return at::zeros({}, p.options());
  const std::int64_t N = routing.experts.size(0), k = routing.experts.size(1);
  const std::int64_t groups = kind == BalanceLoss::sequence ? batch : 1;
  ANVIL_CHECK(groups > 0 && N % groups == 0, "balance loss: ", N, " tokens do not form ", groups,
              " sequences");
  const std::int64_t per_group = N / groups;
  const at::Tensor chosen = routing.experts.reshape({groups, per_group * k});
  const at::Tensor counts = at::zeros({groups, n_experts}, p.options())
                                .scatter_add_(1, chosen, at::ones(chosen.sizes(), p.options()));
  const at::Tensor share = counts * (static_cast<double>(n_experts) / static_cast<double>(per_group * k));
  const at::Tensor mean_probability = p.view({groups, per_group, n_experts}).mean(1);
  return (share * mean_probability).sum(-1).mean() * coef;
}

MoEFeedForwardImpl::MoEFeedForwardImpl(const MoEOptions& options_) : options(options_) {
  ANVIL_CHECK(options.expert_hidden > 0, "moe: expert_hidden must be positive, got ",
              options.expert_hidden);
  ANVIL_CHECK(options.n_shared_experts >= 0, "moe: n_shared_experts must be >= 0, got ",
              options.n_shared_experts);
  ANVIL_CHECK(options.capacity_factor >= 0, "moe: capacity_factor must be >= 0, got ",
              options.capacity_factor);
  reset();
}

void MoEFeedForwardImpl::reset() {
  const RouterOptions& r = options.router;
  router = register_module("router", TopKRouter(r));
  experts = register_module("experts", GroupedExperts(r.n_experts, r.d_model, options.expert_hidden));
  shared = nullptr;
  if (options.n_shared_experts > 0)
    shared = register_module(
        "shared", SwiGLU(r.d_model, options.n_shared_experts * options.expert_hidden));
}

MoEOutput MoEFeedForwardImpl::forward(const at::Tensor& x) {
  ANVIL_CHECK(x.dim() == 3, "moe: input must be [B, T, D], got ", x.sizes());
  const std::int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  const RouterOptions& r = options.router;
  const at::Tensor flat = x.reshape({B * T, D});
  const Routing routing = router->forward(flat);
  const std::int64_t capacity =
      options.capacity_factor > 0
          ? static_cast<std::int64_t>(std::ceil(options.capacity_factor * static_cast<double>(B * T * r.top_k) /
                                                static_cast<double>(r.n_experts)))
          : 0;
  const ExpertDispatch dispatch = dispatch_by_expert(routing, r.n_experts, capacity);
  at::Tensor routed = experts->forward(flat.index_select(0, dispatch.tokens), dispatch.counts);
  routed = routed * dispatch.weights.unsqueeze(1).to(routed.scalar_type());
  at::Tensor output = at::zeros({B * T, D}, routed.options()).index_add(0, dispatch.tokens, routed);
  if (shared) output = output + shared->forward(flat);

  MoEOutput result;
  result.output = output.view({B, T, D});
  result.load = dispatch.load;
  result.dropped = dispatch.dropped;
  if (is_training() && options.balance_loss != BalanceLoss::none && options.balance_loss_coef > 0)
    result.aux_loss = balance_loss(routing, B, r.n_experts, options.balance_loss,
                                   options.balance_loss_coef);
  return result;
}

double load_imbalance(const at::Tensor& load) {
  const at::Tensor l = load.to(at::kDouble);
  const double mean = l.mean().item<double>();
  return mean > 0 ? l.max().item<double>() / mean : 1.0;
}

}  // namespace anvil::nn
