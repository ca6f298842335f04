#include <anvil/nn/router.h>

#include <anvil/errors.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include <cmath>
#include <limits>

namespace anvil::nn {

std::string to_string(RouterScore score) {
  return score == RouterScore::softmax ? "softmax" : "sigmoid";
}

RouterScore parse_router_score(const std::string& name) {
  if (name == "softmax") return RouterScore::softmax;
  if (name == "sigmoid") return RouterScore::sigmoid;
  throw Error("router score must be \"softmax\" or \"sigmoid\", got \"" + name + "\"");
}

TopKRouterImpl::TopKRouterImpl(const RouterOptions& options_) : options(options_) {
  const RouterOptions& o = options;
  ANVIL_CHECK(o.d_model > 0 && o.n_experts > 0, "router: d_model and n_experts must be positive, got ",
              o.d_model, " and ", o.n_experts);
  ANVIL_CHECK(o.top_k >= 1 && o.top_k <= o.n_experts, "router: top_k must be in [1, ", o.n_experts,
              "] (the experts), got ", o.top_k);
  ANVIL_CHECK(o.n_groups >= 1 && o.n_experts % o.n_groups == 0, "router: n_groups must divide the ",
              o.n_experts, " experts, got ", o.n_groups);
  ANVIL_CHECK(o.top_k_groups >= 1 && o.top_k_groups <= o.n_groups,
              "router: top_k_groups must be in [1, ", o.n_groups, "] (n_groups), got ", o.top_k_groups);
  ANVIL_CHECK(o.top_k <= o.top_k_groups * (o.n_experts / o.n_groups), "router: top_k ", o.top_k,
              " exceeds the ", o.top_k_groups * (o.n_experts / o.n_groups),
              " experts of the top_k_groups groups a token may use");
  reset();
}

void TopKRouterImpl::reset() {
  weight = register_parameter("weight", at::empty({options.n_experts, options.d_model}));
  {
    at::NoGradGuard no_grad;
    weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(options.d_model)));
  }
  expert_bias = register_buffer("expert_bias", at::zeros({options.n_experts}, at::kFloat));
}

namespace {

// Selection scores with every expert outside a token's best groups set to -inf.
at::Tensor limit_to_best_groups(const at::Tensor& selection, const RouterOptions& o) {
  const std::int64_t N = selection.size(0);
  const at::Tensor grouped = selection.view({N, o.n_groups, o.n_experts / o.n_groups});
  const at::Tensor group_scores =
      o.score == RouterScore::sigmoid && grouped.size(2) >= 2
          ? std::get<0>(grouped.topk(2, -1)).sum(-1)
          : std::get<0>(grouped.max(-1));
  const at::Tensor best = std::get<1>(group_scores.topk(o.top_k_groups, -1));
  const at::Tensor allowed = at::zeros({N, o.n_groups}, selection.options().dtype(at::kBool))
                                 .scatter_(1, best, true)
                                 .unsqueeze(-1)
                                 .expand_as(grouped)
                                 .reshape({N, o.n_experts});
  return selection.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
}

}  // namespace

Routing TopKRouterImpl::forward(const at::Tensor& x) {
  ANVIL_CHECK(x.dim() == 2 && x.size(1) == options.d_model, "router: input must be [N, ",
              options.d_model, "], got ", x.sizes());
  // float64 stays float64 (tests, reference runs); anything narrower is routed in float32.
  const at::ScalarType dtype = x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor logits;
  {
    // Autocast would run this product in bf16 or fp16, and routing decisions are sensitive to
    // the scores' low bits: keep it in float32, as autocast itself does for its fp32 ops.
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    logits = at::linear(x.to(dtype), weight.to(dtype));
  }
  const at::Tensor scores =
      options.score == RouterScore::softmax ? logits.softmax(-1) : logits.sigmoid();
  Routing routing;
  {
    at::NoGradGuard no_grad;  // selection is discrete; only the weights carry gradients
    at::Tensor selection = scores.detach() + expert_bias;
    if (options.n_groups > 1) selection = limit_to_best_groups(selection, options);
    routing.experts = std::get<1>(selection.topk(options.top_k, -1));
  }
  at::Tensor weights = scores.gather(1, routing.experts);
  if (options.normalize_top_k) weights = weights / (weights.sum(-1, true) + 1e-20);
  if (options.route_scale != 1.0) weights = weights * options.route_scale;
  routing.weights = weights;
  routing.probabilities = options.score == RouterScore::softmax
                              ? scores
                              : scores / (scores.sum(-1, true) + 1e-20);
  return routing;
}

void TopKRouterImpl::update_expert_bias(const at::Tensor& load, double speed) {
  at::NoGradGuard no_grad;
  const at::Tensor l = load.to(expert_bias.device(), expert_bias.scalar_type());
  expert_bias.add_((l.mean() - l).sign() * speed);
}

}  // namespace anvil::nn
