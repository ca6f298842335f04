#pragma once
// The optimizer's parameter groups: "decay" and "no_decay". Weight decay pulls weights toward
// zero, which is right for weight matrices and wrong for norm scales (their neutral value is 1),
// biases and embeddings (rare tokens would be erased), as in GPT-2/Llama recipes.

#include <anvil/optimizer.h>

#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace anvil::core {

/// Groups the trainable parameters of `module` (each tensor once, even when shared, e.g. tied
/// embeddings): "no_decay" (weight_decay 0) for those with fewer than 2 dimensions or whose
/// name contains one of `no_decay_names`, "decay" (the optimizer's weight_decay) for the rest.
/// Empty groups are left out.
std::vector<ParamGroup> make_param_groups(const torch::nn::Module& module,
                                          const std::vector<std::string>& no_decay_names);

/// Every parameter of `groups`, in order.
std::vector<at::Tensor> all_parameters(const std::vector<ParamGroup>& groups);

}  // namespace anvil::core
