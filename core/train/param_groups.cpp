#include "train/param_groups.h"

#include <torch/nn/module.h>

#include <unordered_set>

namespace anvil::core {

std::vector<ParamGroup> make_param_groups(const torch::nn::Module& module,
                                          const std::vector<std::string>& no_decay_names) {
  ParamGroup decay{"decay", {}, std::nullopt};
  ParamGroup no_decay{"no_decay", {}, 0.0};
  std::unordered_set<const void*> seen;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    const at::Tensor& p = item.value();
    if (!p.requires_grad() || !seen.insert(p.unsafeGetTensorImpl()).second) continue;
    bool exempt = p.dim() < 2;
    for (const std::string& name : no_decay_names)
      if (!name.empty() && item.key().find(name) != std::string::npos) exempt = true;
    (exempt ? no_decay : decay).params.push_back(p);
  }
  std::vector<ParamGroup> groups;
  if (!decay.params.empty()) groups.push_back(std::move(decay));
  if (!no_decay.params.empty()) groups.push_back(std::move(no_decay));
  return groups;
}

std::vector<at::Tensor> all_parameters(const std::vector<ParamGroup>& groups) {
  std::vector<at::Tensor> params;
  for (const ParamGroup& group : groups) params.insert(params.end(), group.params.begin(), group.params.end());
  return params;
}

}  // namespace anvil::core
