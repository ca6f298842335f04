#pragma once
// Host token batches (data/token_loader.h) as tensors on the training device, and the
// validation split as the evaluators' BatchSource.

#include "data/token_loader.h"

#include <anvil/evaluator.h>
#include <anvil/tensor_types.h>

#include <c10/core/Device.h>

namespace anvil::core {

/// `batch` as int64 tensors [rows, seq_len] on `device`. For a GPU the copy goes through
/// pinned memory and does not block the host.
Batch to_device(const TokenBatch& batch, c10::Device device);

/// Every validation window once (ValidationBatches), on the training device.
class ValidationSource final : public BatchSource {
 public:
  ValidationSource(ValidationBatches& batches, c10::Device device);
  bool next(Batch& batch) override;
  void reset() override;

 private:
  ValidationBatches& batches_;
  c10::Device device_;
  TokenBatch host_;
};

}  // namespace anvil::core
