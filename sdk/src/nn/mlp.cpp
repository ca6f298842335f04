#include <anvil/nn/mlp.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <vector>

namespace anvil::nn {

SwiGLUImpl::SwiGLUImpl(std::int64_t dim_, std::int64_t hidden_) : dim(dim_), hidden(hidden_) { reset(); }

void SwiGLUImpl::reset() {
  const auto linear = [](std::int64_t in, std::int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  w1 = register_module("w1", linear(dim, hidden));
  w2 = register_module("w2", linear(hidden, dim));
  w3 = register_module("w3", linear(dim, hidden));
}

at::Tensor SwiGLUImpl::forward(const at::Tensor& x) {
  // One product for the gate and the up projection (see GroupedQueryAttentionImpl::forward).
  const std::vector<at::Tensor> gate_up = at::linear(x, at::cat({w1->weight, w3->weight}, 0)).chunk(2, -1);
  return w2->forward(at::silu(gate_up[0]) * gate_up[1]);
}

}  // namespace anvil::nn
