#pragma once
/// @file activation_checkpoint.h
/// Activation checkpointing for LibTorch C++, which has no torch.utils.checkpoint: run a
/// function without keeping its intermediate tensors, and run it again when backward needs them.

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace anvil::nn {

/// A differentiable function of one tensor (a block's forward pass).
using CheckpointedFn = std::function<at::Tensor(const at::Tensor&)>;

/// Returns fn(input) computed without autograd history; its backward runs fn again with
/// autograd on and returns the gradients w.r.t. `input` and `params` (the tensors fn reads
/// besides `input` that may need them, e.g. a module's parameters). Only `input` is kept until
/// backward, so a block costs one input-sized tensor instead of all of its intermediates, and
/// one extra forward pass.
///
/// The default generator of the input's device is put back to its state at the first call for
/// the recomputation (and restored afterwards), so dropout draws the same masks. Gradients flow
/// through the graph rather than being accumulated by a nested backward, so both
/// Tensor::backward and torch::autograd::grad work. The recomputation runs under the autocast
/// state of the thread doing backward. A second backward through it without retain_graph is an
/// anvil::Error, as is an in-place change of `input` between forward and backward.
at::Tensor checkpoint(CheckpointedFn fn, const at::Tensor& input, std::vector<at::Tensor> params);

}  // namespace anvil::nn
