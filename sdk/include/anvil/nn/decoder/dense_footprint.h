#pragma once
/// @file dense_footprint.h
/// The memory of the dense decoder, and of the hybrid and MoE decoders built from its parts,
/// computed from the options alone (anvil/footprint.h): parameter counts, what a training step
/// keeps for backward per token, weight copies and the decode cache.
///
/// The activation counts follow the tensors this implementation's autograd graph keeps, as
/// measured with bench/memory (docs/benchmarks.md has the comparison), not a textbook
/// transformer's: e.g. an RMSNorm keeps its squared input, its normalised input and its output,
/// and LibTorch 1.13 keeps every attention probability (no fused attention).

#include <anvil/nn/decoder/dense_options.h>

#include <anvil/footprint.h>

#include <cstdint>
#include <vector>

namespace anvil::nn {

/// Bytes of the dtypes a training step stores in.
struct StepBytes {
  double compute = 4;  ///< what matmul inputs and outputs are kept in (autocast dtype, or fp32)
  double param = 4;    ///< the weights' dtype
  bool fused_attention = false;  ///< at::scaled_dot_product_attention: no probabilities kept
};

/// The sizes for `query`, and whether this LibTorch has fused attention.
StepBytes step_bytes(const FootprintQuery& query);

/// Per token, what one layer keeps for backward: its tensors and, apart, its attention
/// probabilities (the part that grows with the sequence).
struct LayerBytes {
  double tensors = 0;
  double scores = 0;
};

/// Every parameter element of layer `layer`'s attention: the matmuls, MLA's norms, and the
/// global branch of a hybrid local layer.
std::int64_t attention_parameters(const DenseOptions& options, std::int64_t layer);
/// Every parameter element of dense block `layer` (attention, MLP, two norms).
std::int64_t dense_block_parameters(const DenseOptions& options, std::int64_t layer);
/// Every parameter element of the multi-token prediction modules.
std::int64_t mtp_parameters(const DenseOptions& options);
/// Embedding, untied output head and final norm.
std::int64_t embedding_and_head_parameters(const DenseOptions& options);

/// Per token: an RMSNorm of `width` (squared input and normalised input in fp32, its output
/// in the compute dtype for the matmul after it).
double norm_bytes(std::int64_t width, const StepBytes& bytes);
/// Per token: a SwiGLU of `hidden` (gate, up, silu(gate), their product).
double swiglu_bytes(std::int64_t hidden, const StepBytes& bytes);
/// Per token: layer `layer`'s residual stream, two norms and attention over `seq_len`
/// positions, without its feed-forward part.
LayerBytes mixing_bytes(const DenseOptions& options, std::int64_t layer, std::int64_t seq_len,
                        const StepBytes& bytes);

/// Parameters concatenated for one matmul in layer `layer` (wq|wk|wv, w1|w3): in fp32 a
/// training step keeps these copies for backward.
std::int64_t concatenated_parameters(const DenseOptions& options, std::int64_t layer);

/// KV-cache bytes per token of layer `layer`, in the weights' dtype.
double layer_cache_bytes(const DenseOptions& options, std::int64_t layer, const StepBytes& bytes);

/// A decoder's blocks, in order, as the footprint needs them.
struct DecoderLayers {
  std::vector<LayerBytes> bytes;           ///< per block, per token
  std::int64_t parameters = 0;             ///< of all blocks
  std::int64_t largest_block = 0;          ///< parameters of the largest block
  std::int64_t concatenated = 0;           ///< concatenated_parameters of all blocks
  std::int64_t largest_concatenated = 0;   ///< ... of the block with the most
  double cache_bytes = 0;                  ///< KV-cache bytes per token of all blocks

  /// Appends a block.
  void add(const LayerBytes& block_bytes, std::int64_t block_parameters,
           std::int64_t block_concatenated, double block_cache_bytes);
};

/// Puts a decoder's footprint together from its blocks: with activation checkpointing only
/// each block's input is kept and one block is recomputed at a time; the multi-token
/// prediction modules, the embeddings and the output head come on top. `matmul_parameters`
/// (every weight that enters a matmul, the head included) is what autocast keeps casts of.
/// active_parameters is set to parameters.
ModelFootprint assemble_footprint(const DenseOptions& options, const DecoderLayers& layers,
                                  std::int64_t matmul_parameters, const FootprintQuery& query);

/// The dense (and hybrid) decoder's footprint. options.vocab_size must be set.
ModelFootprint dense_footprint(const DenseOptions& options, const FootprintQuery& query);

}  // namespace anvil::nn
