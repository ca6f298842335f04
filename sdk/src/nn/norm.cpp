#include <anvil/nn/norm.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

namespace anvil::nn {

RMSNormImpl::RMSNormImpl(std::int64_t dim_, double eps_) : dim(dim_), eps(eps_) { reset(); }

void RMSNormImpl::reset() { weight = register_parameter("weight", at::ones({dim})); }

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  // Low-precision inputs are normalised in float32: their squares' mean loses too many bits.
  const at::Tensor xf = x.to(at::promote_types(x.scalar_type(), at::kFloat));
  const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return normed.to(x.scalar_type()) * weight;
}

}  // namespace anvil::nn
