#include "train/batches.h"

#include <ATen/Functions.h>

namespace anvil::core {
namespace {

at::Tensor to_tensor(const std::vector<std::int64_t>& values, std::int64_t rows,
                     std::int64_t cols, c10::Device device) {
  const bool gpu = device.is_cuda();
  at::Tensor host = at::empty({rows, cols}, at::TensorOptions().dtype(at::kLong).pinned_memory(gpu));
  std::copy(values.begin(), values.end(), host.data_ptr<std::int64_t>());
  return gpu ? host.to(device, /*non_blocking=*/true) : host;
}

}  // namespace

Batch to_device(const TokenBatch& batch, c10::Device device) {
  return Batch{to_tensor(batch.input, batch.rows, batch.seq_len, device),
               to_tensor(batch.target, batch.rows, batch.seq_len, device)};
}

ValidationSource::ValidationSource(ValidationBatches& batches, c10::Device device)
    : batches_(batches), device_(device) {}

bool ValidationSource::next(Batch& batch) {
  if (!batches_.next(host_)) return false;
  batch = to_device(host_, device_);
  return true;
}

void ValidationSource::reset() { batches_.reset(); }

}  // namespace anvil::core
