// Activation checkpointing through a custom autograd node (see activation_checkpoint.h).
#include <anvil/nn/decoder/activation_checkpoint.h>

#include <anvil/errors.h>
#include <anvil/torch_compat.h>

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>

#include <mutex>
#include <string>
#include <utility>

namespace anvil::nn {
namespace {

using torch::autograd::variable_list;

at::Tensor rng_state(at::Generator& generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_rng_state(at::Generator& generator, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// The backward of checkpoint(): recomputes fn and differentiates it. Its next edges are the
// input's followed by each parameter's, so apply() returns gradients in that order.
class CheckpointBackward final : public torch::autograd::Node {
 public:
  CheckpointBackward(CheckpointedFn fn, const at::Tensor& input, std::vector<at::Tensor> params,
                     at::Generator generator, at::Tensor rng_state)
      : autocast_cpu_(autocast_state(false)),
        autocast_cuda_(autocast_state(true)),
        fn_(std::move(fn)),
        input_(input.detach()),
        input_version_(input._version()),
        params_(std::move(params)),
        generator_(std::move(generator)),
        rng_state_(std::move(rng_state)) {}

  std::string name() const override { return "anvil::CheckpointBackward"; }

  variable_list apply(variable_list&& grads) override {
    ANVIL_CHECK(fn_,
                "checkpoint: backward through a checkpointed block a second time; "
                "call backward with retain_graph to do that");
    // The detached input shares the version counter of the original, so this sees in-place
    // changes made after forward, which would make the recomputation silently wrong.
    ANVIL_CHECK(input_._version() == input_version_,
                "checkpoint: the input of a checkpointed block was modified in place before "
                "backward");
    variable_list result(1 + params_.size());
    if (!grads[0].defined()) return result;

    variable_list wrt;
    std::vector<std::size_t> slot;
    at::Tensor input = input_.detach().requires_grad_(task_should_compute_output(0));
    if (input.requires_grad()) {
      wrt.push_back(input);
      slot.push_back(0);
    }
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!task_should_compute_output(i + 1)) continue;
      wrt.push_back(params_[i]);
      slot.push_back(i + 1);
    }
    if (wrt.empty()) return result;

    at::Tensor output;
    {
      at::AutoGradMode enable_grad(true);
      // Backward runs outside the forward pass's autocast: recompute in its precision.
      AutocastGuard autocast(autocast_cpu_, autocast_cuda_);
      const at::Tensor current = rng_state(generator_);
      set_rng_state(generator_, rng_state_);
      output = fn_(input);
      set_rng_state(generator_, current);
    }
    const variable_list found = torch::autograd::grad({output}, wrt, {grads[0]},
                                                      /*retain_graph=*/false,
                                                      /*create_graph=*/false,
                                                      /*allow_unused=*/true);
    for (std::size_t i = 0; i < found.size(); ++i) result[slot[i]] = found[i];
    return result;
  }

  void release_variables() override {
    fn_ = nullptr;
    input_.reset();
    params_.clear();
  }

 private:
  AutocastState autocast_cpu_;   // as the forward pass ran
  AutocastState autocast_cuda_;
  CheckpointedFn fn_;
  at::Tensor input_;
  std::int64_t input_version_;
  std::vector<at::Tensor> params_;
  at::Generator generator_;
  at::Tensor rng_state_;
};

}  // namespace

at::Tensor checkpoint(CheckpointedFn fn, const at::Tensor& input, std::vector<at::Tensor> params) {
  at::Generator generator = at::globalContext().defaultGenerator(input.device());
  at::Tensor state = rng_state(generator);
  at::Tensor output;
  {
    at::NoGradGuard no_grad;
    output = fn(input);
  }
  variable_list inputs{input};
  inputs.insert(inputs.end(), params.begin(), params.end());
  if (!at::GradMode::is_enabled() || !torch::autograd::any_variable_requires_grad(inputs))
    return output;

  std::shared_ptr<CheckpointBackward> node(
      new CheckpointBackward(std::move(fn), input, std::move(params), std::move(generator),
                             std::move(state)),
      torch::autograd::deleteNode);
  node->set_next_edges(torch::autograd::collect_next_edges(inputs));
  torch::autograd::create_gradient_edge(output, std::move(node));
  return output;
}

}  // namespace anvil::nn
