#pragma once
/// @file moe_footprint.h
/// The MoE decoder's memory from its options (anvil/footprint.h): the dense decoder's parts
/// (dense_footprint.h) for attention, the leading dense layers and the output head, plus the
/// experts, the router and the dispatch of the MoE layers.

#include <anvil/nn/decoder/dense_footprint.h>
#include "moe_options.h"

#include <anvil/footprint.h>

#include <cstdint>

namespace anvil::builtin {

// The SDK's dense decoder, which this architecture builds on.
using nn::DecoderLayers;
using nn::LayerBytes;
using nn::StepBytes;
using nn::step_bytes;
using nn::swiglu_bytes;

/// Every parameter element of one MoE layer's feed-forward part: the routed experts, the
/// shared ones and the router.
std::int64_t moe_feed_forward_parameters(const MoEModelOptions& options);

/// Per token, what one MoE layer's feed-forward part keeps for backward: the router's scores,
/// each of the top_k copies of the token with its expert's SwiGLU and output, and the shared
/// experts' SwiGLU.
double moe_feed_forward_bytes(const MoEModelOptions& options, const StepBytes& bytes);

/// The MoE decoder's footprint. options.base.vocab_size must be set.
ModelFootprint moe_footprint(const MoEModelOptions& options, const FootprintQuery& query);

}  // namespace anvil::builtin
