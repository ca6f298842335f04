#pragma once
/// @file tensor_types.h
/// Plain data passed between the trainer and components: batches, model outputs, state.
/// Kept apart from model.h so that losses and optimizers need only ATen's Tensor header.

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace anvil {

/// One batch of token windows.
struct Batch {
  at::Tensor input;   ///< [B, T] int64 token ids
  at::Tensor target;  ///< [B, T] int64 next-token ids (ignore_index where masked)
};

/// What a model's forward pass returns.
struct ModelOutput {
  at::Tensor logits;  ///< [B, T, V]
  at::Tensor hidden;  ///< [B, T, D] final hidden states (before the output head); may be undefined
  /// Named auxiliary losses (MoE balance, MTP, ...), already weighted; added to the main loss
  /// by the trainer and logged separately.
  std::vector<std::pair<std::string, at::Tensor>> aux_losses;
};

/// Named tensors in a fixed order: optimizer state, offloaded buffers, checkpoints.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

}  // namespace anvil
