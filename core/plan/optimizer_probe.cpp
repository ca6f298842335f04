#include "plan/optimizer_probe.h"

#include <ATen/Functions.h>

namespace anvil::core {

double optimizer_state_bytes_per_parameter(Optimizer& optimizer) {
  // Large enough that a per-parameter tensor is never confused with a scalar.
  constexpr std::int64_t kProbe = 4096;
  at::Tensor weight = at::ones({kProbe}, at::kFloat).requires_grad_();
  weight.mutable_grad() = at::full({kProbe}, 1e-3, at::kFloat);
  ParamGroup group;
  group.name = "probe";
  group.params.push_back(weight);
  optimizer.add_param_groups({group});
  optimizer.step();
  double bytes = 0;
  for (const auto& [name, tensor] : optimizer.state_dict())
    if (tensor.defined() && tensor.numel() >= kProbe)
      bytes += static_cast<double>(tensor.numel()) * static_cast<double>(tensor.element_size());
  return bytes / static_cast<double>(kProbe);
}

}  // namespace anvil::core
