#pragma once
/// @file hybrid_options.h
/// The "hybrid" architecture: the dense decoder with sliding-window local attention, combined
/// with global attention either as a full-attention branch of a few heads summed with each
/// local layer (global_heads) or as every global_every-th layer attending fully. Its options
/// are DenseOptions with their LocalAttention (window, global_every, global_heads) set.

#include <anvil/nn/decoder/dense_model.h>
#include <anvil/nn/decoder/dense_options.h>

#include <anvil/context.h>

#include <memory>
#include <vector>

namespace anvil::builtin {

using nn::DenseModel;
using nn::DenseOptionProblem;
using nn::DenseOptions;

/// The defaults of the hybrid schema: the dense ones, a 64-token window and one global head.
DenseOptions hybrid_defaults();

/// dense_option_problems plus the hybrid's own: a positive window, and some global attention
/// (global_heads or global_every), without which distant tokens could not be seen.
std::vector<DenseOptionProblem> hybrid_option_problems(const DenseOptions& options);

/// The dense decoder of `options` (vocab_size from context, which must know it), named
/// "hybrid" in its messages. Throws anvil::Error listing hybrid_option_problems.
std::unique_ptr<DenseModel> make_hybrid_model(DenseOptions options, const RunContext& context);

}  // namespace anvil::builtin
