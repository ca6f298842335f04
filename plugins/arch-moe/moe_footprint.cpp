// The MoE decoder's memory from its options (see moe_footprint.h).
#include "moe_footprint.h"


namespace anvil::builtin {
namespace {
auto as_double(std::int64_t n) { return static_cast<double>(n); }
}  // namespace

std::int64_t moe_feed_forward_parameters(const MoEModelOptions& o) {
  const std::int64_t D = o.base.d_model;
  return (o.n_routed_experts + o.n_shared_experts) * 3 * D * o.expert_hidden + D * o.n_routed_experts;
}

double moe_feed_forward_bytes(const MoEModelOptions& o, const StepBytes& b) {
  const double D = as_double(o.base.d_model);
  const bool autocast = b.compute != b.param;
  // The router multiplies in float32: under autocast it keeps the float32 normalised input
  // (which the experts then cast). It keeps its scores and, for the balance loss, their
  // probabilities.
  const double router = (autocast ? 4 * D : 0) + 2 * 4 * as_double(o.n_routed_experts);
  // Each token's top_k copies: the gathered rows (cast once per expert matmul under autocast),
  // the expert's SwiGLU, and its output, which the routing weight multiplies.
  const double rows = autocast ? 2 * b.compute * D : b.param * D;
  const double routed = as_double(o.top_k) * (rows + swiglu_bytes(o.expert_hidden, b) + b.compute * D);
  const double shared = o.n_shared_experts > 0 ? swiglu_bytes(o.n_shared_experts * o.expert_hidden, b) : 0;
  return router + routed + shared;
}

ModelFootprint moe_footprint(const MoEModelOptions& o, const FootprintQuery& query) {
  const DenseOptions& base = o.base;
  const StepBytes b = step_bytes(query);
  const std::int64_t D = base.d_model;
  DecoderLayers layers;
  for (std::int64_t i = 0; i < base.n_layers; ++i) {
    LayerBytes bytes = mixing_bytes(base, i, query.seq_len, b);
    if (i < o.n_dense_layers) {
      bytes.tensors += swiglu_bytes(base.ffn_width(), b);
      layers.add(bytes, dense_block_parameters(base, i), concatenated_parameters(base, i),
                 layer_cache_bytes(base, i, b));
      continue;
    }
    // A MoE layer concatenates its attention's projections and its shared experts' w1|w3;
    // the routed experts' weights are sliced, not copied.
    bytes.tensors += moe_feed_forward_bytes(o, b);
    const std::int64_t concatenated = concatenated_parameters(base, i) - 2 * D * base.ffn_width() +
                                      2 * D * o.n_shared_experts * o.expert_hidden;
    layers.add(bytes, attention_parameters(base, i) + moe_feed_forward_parameters(o) + 2 * D,
               concatenated, layer_cache_bytes(base, i, b));
  }
  ModelFootprint f = assemble_footprint(base, layers, moe_matmul_parameters(o).total, query);
  f.active_parameters -= o.n_moe_layers() * (o.n_routed_experts - o.top_k) * 3 * D * o.expert_hidden;
  return f;
}

}  // namespace anvil::builtin
