// Multi-token prediction modules and their loss (see mtp.h).
#include <anvil/nn/decoder/mtp.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

namespace anvil::nn {

MTPModuleImpl::MTPModuleImpl(const DenseOptions& options_, std::int64_t depth_)
    : options(options_), depth(depth_) {
  reset();
}

void MTPModuleImpl::reset() {
  const std::int64_t D = options.d_model;
  hidden_norm = register_module("hidden_norm", RMSNorm(D, options.norm_eps));
  embed_norm = register_module("embed_norm", RMSNorm(D, options.norm_eps));
  proj = register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(2 * D, D).bias(false)));
  block = register_module("block", DenseBlock(options, options.n_layers + depth - 1));
}

at::Tensor MTPModuleImpl::forward(const at::Tensor& previous, const at::Tensor& ahead,
                                  const RotaryTables& rope, bool dropout) {
  const at::Tensor joined = at::cat({hidden_norm->forward(previous), embed_norm->forward(ahead)}, -1);
  return block->forward(proj->forward(joined), rope, dropout);
}

at::Tensor mtp_loss(std::vector<MTPModule>& modules, const at::Tensor& trunk,
                    const at::Tensor& tokens, const TensorMap& embed, const TensorMap& head,
                    const DenseOptions& options, bool dropout) {
  const at::ScalarType loss_dtype = trunk.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor total = at::zeros({}, trunk.options().dtype(loss_dtype));
  const std::int64_t T = tokens.size(1);
  at::Tensor previous = trunk;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const std::int64_t k = static_cast<std::int64_t>(i) + 1;
    const std::int64_t L = T - k - 1;  // positions whose token k + 1 ahead is known
    if (L <= 0) break;
    const RotaryTables rope = rotary_tables(options.rope_dim(), options.rope_base, 0, L, trunk.options());
    previous = modules[i]->forward(previous.narrow(1, 0, L), embed(tokens.narrow(1, k, L)), rope, dropout);
    const at::Tensor logits = head(previous);
    total = total + at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}).to(loss_dtype),
                                           tokens.narrow(1, k + 1, L).reshape({-1}));
  }
  return total * (options.mtp_weight / static_cast<double>(modules.size()));
}

std::vector<MTPModule> make_mtp_modules(const DenseOptions& options) {
  std::vector<MTPModule> modules;
  for (std::int64_t k = 1; k <= options.mtp_depth; ++k) modules.emplace_back(options, k);
  return modules;
}

}  // namespace anvil::nn
