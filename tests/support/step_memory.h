#pragma once
// The memory one training step of a model allocates above its weights (forward under autocast
// to `compute`, cross-entropy, backward with the output alive, as the trainer does), for
// checking architecture footprints (anvil/footprint.h) against LibTorch's real allocations.

#include "allocation_meter.h"

#include <anvil/footprint.h>
#include <anvil/model.h>
#include <anvil/torch_compat.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <cstdint>

namespace anvil::test {

struct StepMemory {
  double peak = 0;       ///< most bytes alive at once during the step, above the weights
  double gradients = 0;  ///< bytes of the weights' gradients after the step
};

/// Runs one step of `model` (in training mode) on `tokens` [B, T + 1].
inline StepMemory measure_step(Model& model, const at::Tensor& tokens, at::ScalarType compute) {
  model.module().train();
  const std::int64_t T = tokens.size(1) - 1;
  AllocationMeter meter;
  {
    at::Tensor loss;
    ModelOutput out;
    {
      const AutocastState off{false, at::kBFloat16};
      const bool autocast_on = compute != at::kFloat;
      AutocastGuard autocast(AutocastState{autocast_on, autocast_on ? compute : at::kBFloat16}, off);
      out = model.forward(tokens.narrow(1, 0, T));
      loss = at::cross_entropy_loss(out.logits.reshape({-1, out.logits.size(-1)}).to(at::kFloat),
                                    tokens.narrow(1, 1, T).reshape({-1}));
      for (const auto& aux : out.aux_losses) loss = loss + aux.second;
    }
    loss.backward();
  }
  StepMemory m;
  m.peak = static_cast<double>(meter.peak());
  for (const at::Tensor& p : model.module().parameters())
    if (p.grad().defined()) m.gradients += static_cast<double>(p.grad().numel() * p.grad().element_size());
  return m;
}

/// The footprint's estimate of that step's memory above the weights and their gradients:
/// its activations for `tokens` tokens and its weight copies.
inline double footprint_step_bytes(const ModelFootprint& f, std::int64_t tokens) {
  double per_token = 0;
  for (const ActivationPart& part : f.activations) per_token += part.bytes_per_token;
  return per_token * static_cast<double>(tokens) + f.weight_copy_bytes;
}

}  // namespace anvil::test
