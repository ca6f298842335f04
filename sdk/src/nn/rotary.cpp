#include <anvil/nn/rotary.h>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <vector>

namespace anvil::nn {

RotaryTables rotary_tables(std::int64_t head_dim, double base, std::int64_t offset,
                           std::int64_t length, const at::TensorOptions& options) {
  const at::ScalarType dtype = options.dtype().toScalarType();
  const at::TensorOptions angle_options =
      options.dtype(dtype == at::kDouble ? at::kDouble : at::kFloat);
  // inv_freq[i] = base^(-2i / head_dim), i < head_dim / 2.
  const at::Tensor inv_freq =
      at::pow(base, at::arange(0, head_dim, 2, angle_options) / static_cast<double>(head_dim))
          .reciprocal();
  const at::Tensor positions = at::arange(offset, offset + length, angle_options);
  const at::Tensor half = at::outer(positions, inv_freq);            // [T, head_dim / 2]
  const at::Tensor angles = at::cat({half, half}, -1).unsqueeze(1);  // [T, 1, head_dim]
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables) {
  // rotate_half(x) = [-x2, x1] for x = [x1, x2]: pair i is (x[i], x[i + head_dim/2]).
  const std::vector<at::Tensor> halves = x.chunk(2, -1);
  const at::Tensor rotated = at::cat({halves[1].neg(), halves[0]}, -1);
  return x * tables.cos + rotated * tables.sin;
}

}  // namespace anvil::nn
