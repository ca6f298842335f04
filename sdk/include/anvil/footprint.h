#pragma once
/// @file footprint.h
/// What an architecture's options cost in memory, computed from the options alone, without
/// building the model: `anvil check` plans a 16B-parameter run on a laptop from it. An
/// architecture plugin registers one next to its factory (Registry::add_model_footprint).

#include <anvil/options.h>

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace anvil {

/// The run a footprint is computed for.
struct FootprintQuery {
  std::int64_t vocab_size = 0;                     ///< the tokenizer's vocabulary size
  std::int64_t seq_len = 0;                        ///< tokens per training sequence
  c10::ScalarType compute_dtype = c10::kFloat;     ///< autocast dtype; kFloat when none
  c10::ScalarType param_dtype = c10::kFloat;       ///< dtype of the weights (and decode caches)
};

/// One named part of the memory a training step holds beyond weights, gradients and
/// optimizer state, per token of a micro-batch.
struct ActivationPart {
  std::string name;             ///< e.g. "blocks", "attention scores", "output head"
  double bytes_per_token = 0;   ///< at the query's seq_len and compute dtype
};

/// The memory an architecture needs, from its options.
struct ModelFootprint {
  std::int64_t parameters = 0;         ///< every parameter element, as parameter_count() counts
  /// Parameters one token's forward pass uses: all but the routed experts it is not sent to.
  std::int64_t active_parameters = 0;
  /// Parameters of the largest of Model::blocks(): what a ZeRO-3 rank gathers at once.
  std::int64_t largest_block_parameters = 0;
  /// The most memory a forward and backward pass holds at once beyond the weights and their
  /// gradients, per token of the micro-batch, with the model's own activation-checkpointing
  /// setting; by part, so that a plan can say where it goes. Includes a cross-entropy over the
  /// logits (float32 log-probabilities and their gradients), the loss of every language model.
  std::vector<ActivationPart> activations;
  /// Bytes of weight copies a training step keeps whatever the batch (autocast's cached casts,
  /// projections concatenated for one matmul): a fixed cost next to the activations.
  double weight_copy_bytes = 0;
  /// Bytes per token of one sequence's decode cache (keys and values, or their latent) in the
  /// query's param_dtype, all layers together.
  double kv_cache_bytes_per_token = 0;
};

/// Computes an architecture's footprint from its validated options. Reports inconsistent
/// options as its factory would (Options::error, or anvil::Error), so that `anvil check`
/// catches them without building the model.
using ModelFootprintFn =
    std::function<ModelFootprint(const Options& options, const FootprintQuery& query)>;

}  // namespace anvil
