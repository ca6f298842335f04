#include "train/step_runner.h"

#include <anvil/errors.h>

#include <ATen/Functions.h>

#include <algorithm>
#include <cmath>

namespace anvil::core {
namespace {

std::vector<at::Tensor> defined_grads(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

}  // namespace

void add_metrics(Metrics& sums, const Metrics& metrics, const std::string& prefix, double divisor) {
  for (const Metric& metric : metrics) {
    const std::string name = prefix + metric.name;
    auto it = std::find_if(sums.begin(), sums.end(), [&](const Metric& m) { return m.name == name; });
    if (it == sums.end()) sums.push_back({name, metric.value / divisor});
    else it->value += metric.value / divisor;
  }
}

double global_grad_norm(const std::vector<at::Tensor>& parameters) {
  const std::vector<at::Tensor> grads = defined_grads(parameters);
  if (grads.empty()) return 0;
  // One fused pass per dtype/device group instead of one kernel per tensor.
  const std::vector<at::Tensor> norms = at::_foreach_norm(grads, 2);
  std::vector<at::Tensor> as_float;
  as_float.reserve(norms.size());
  for (const at::Tensor& n : norms) as_float.push_back(n.to(at::kFloat).reshape({1}));
  return at::cat(as_float).norm().item<double>();
}

void clip_gradients(const std::vector<at::Tensor>& parameters, double norm, double max_norm) {
  if (max_norm <= 0 || !(norm > max_norm)) return;
  const std::vector<at::Tensor> grads = defined_grads(parameters);
  at::_foreach_mul_(grads, max_norm / (norm + 1e-6));
}

StepRunner::StepRunner(Model& model, Optimizer& optimizer, std::vector<LossTerm> losses,
                       std::vector<at::Tensor> parameters, StepOptions options)
    : model_(model),
      observer_(dynamic_cast<StepObserver*>(&model)),
      optimizer_(optimizer),
      losses_(std::move(losses)),
      parameters_(std::move(parameters)),
      options_(options),
      scaler_(options.precision == Precision::fp16) {
  ANVIL_CHECK(!losses_.empty(), "the trainer needs at least one [[loss]]");
}

StepOutcome StepRunner::step(const std::vector<Batch>& micro_batches, double lr) {
  ANVIL_CHECK(!micro_batches.empty(), "a step needs at least one micro-batch");
  const double n = static_cast<double>(micro_batches.size());
  StepOutcome outcome;
  outcome.loss_scale = scaler_.scale();
  call_plugin(options_.optimizer, "zero_grad", [&] { optimizer_.zero_grad(); });
  at::Tensor loss_sum;  // stays on the device: one host sync per step, not per micro-batch
  for (const Batch& batch : micro_batches) {
    at::Tensor total;
    {
      AutocastScope autocast(options_.precision, options_.device);
      const ModelOutput output =
          call_plugin(options_.model, "forward", [&] { return model_.forward(batch.input); });
      for (const LossTerm& term : losses_) {
        LossOutput out = call_plugin(term.identity, "compute", [&] { return term.loss->compute(output, batch); });
        total = total.defined() ? total + out.loss * term.weight : out.loss * term.weight;
        add_metrics(outcome.metrics, out.metrics, term.name + ".", n);
      }
      for (const auto& [name, aux] : output.aux_losses) {
        total = total + aux;
        add_metrics(outcome.metrics, {{name, aux.detach().item<double>()}}, "aux.", n);
      }
    }
    total = total.to(at::kFloat);
    // Backward runs the autograd graph the model's forward built (its custom functions too).
    call_plugin(options_.model, "backward", [&] { (total * (scaler_.scale() / n)).backward(); });
    const at::Tensor detached = total.detach();
    loss_sum = loss_sum.defined() ? loss_sum + detached : detached;
  }
  outcome.loss = loss_sum.item<double>() / n;

  if (scaler_.enabled()) {
    const std::vector<at::Tensor> grads = defined_grads(parameters_);
    if (!grads.empty()) at::_foreach_mul_(grads, 1.0 / scaler_.scale());
  }
  outcome.grad_norm = global_grad_norm(parameters_);
  if (!std::isfinite(outcome.grad_norm) || !std::isfinite(outcome.loss)) {
    outcome.updated = false;
    outcome.scale_overflow = scaler_.enabled() && std::isfinite(outcome.loss);
    scaler_.update(/*overflow=*/true);
    call_plugin(options_.optimizer, "zero_grad", [&] { optimizer_.zero_grad(); });
    if (observer_) call_plugin(options_.model, "end_step", [&] { return observer_->end_step(/*updated=*/false); });
    return outcome;
  }
  clip_gradients(parameters_, outcome.grad_norm, options_.grad_clip);
  call_plugin(options_.optimizer, "step", [&] {
    optimizer_.set_lr(lr);
    optimizer_.step();
  });
  scaler_.update(/*overflow=*/false);
  if (observer_)
    add_metrics(outcome.metrics,
                call_plugin(options_.model, "end_step", [&] { return observer_->end_step(/*updated=*/true); }),
                "", 1.0);
  return outcome;
}

}  // namespace anvil::core
