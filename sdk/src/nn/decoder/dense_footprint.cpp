// The dense decoder's memory from its options (see dense_footprint.h). Names: D model width,
// H heads, KV key/value heads, hd head width, F SwiGLU width, V vocabulary, S keys a query
// sees, c bytes of the compute dtype, p bytes of the weights' dtype.
#include <anvil/nn/decoder/dense_footprint.h>

#include <anvil/torch_compat.h>

#include <algorithm>

namespace anvil::nn {
namespace {

constexpr double kFloat32 = 4;  // norms and softmaxes run in float32 whatever autocast does

auto as_double(std::int64_t n) { return static_cast<double>(n); }

// Grouped-query attention of `heads` query heads over `keys` keys: the query, key and value
// copies the kernel reads and the output the projection reads; fused attention keeps its
// inputs as they are (the values as a view of the q|k|v product) and the log-sum-exp.
LayerBytes grouped_query_bytes(std::int64_t heads, std::int64_t kv_heads, std::int64_t hd,
                               std::int64_t keys, bool local, const StepBytes& b) {
  const double width = as_double(heads * hd);
  if (local) {
    // Blocks of w queries against 2w keys: every key and value is copied twice.
    return {b.compute * 6 * width, b.compute * as_double(heads * 2 * keys)};
  }
  if (b.fused_attention)
    return {b.compute * (5 * width + as_double(2 * kv_heads * hd)) + kFloat32 * as_double(heads), 0};
  return {b.compute * 4 * width, b.compute * as_double(heads * keys)};
}

LayerBytes latent_attention_bytes(const DenseOptions& o, std::int64_t keys, const StepBytes& b) {
  const double H = as_double(o.n_heads), qk = as_double(o.nope_dim() + o.rope_dim()),
               vd = as_double(o.value_dim());
  double norms = norm_bytes(o.kv_lora_rank, b);
  if (o.q_lora_rank > 0) norms += norm_bytes(o.q_lora_rank, b);
  if (b.fused_attention) {
    const double kept = 2 * H * qk + H * (as_double(o.nope_dim()) + vd) + 2 * H * vd;
    return {norms + b.compute * kept + kFloat32 * H, 0};
  }
  return {norms + b.compute * (2 * H * qk + 2 * H * vd), b.compute * H * as_double(keys)};
}

}  // namespace

StepBytes step_bytes(const FootprintQuery& query) {
  StepBytes b;
  b.compute = static_cast<double>(c10::elementSize(query.compute_dtype));
  b.param = static_cast<double>(c10::elementSize(query.param_dtype));
  b.fused_attention = ANVIL_HAS_SDPA;
  return b;
}

std::int64_t attention_parameters(const DenseOptions& o, std::int64_t layer) {
  std::int64_t n = attention_matmul_parameters(o);
  if (o.uses_mla()) n += o.kv_lora_rank + (o.q_lora_rank > 0 ? o.q_lora_rank : 0);
  if (o.local.has_global_branch(layer)) n += 4 * o.d_model * o.local.global_heads * o.head_dim();
  return n;
}

std::int64_t dense_block_parameters(const DenseOptions& o, std::int64_t layer) {
  return attention_parameters(o, layer) + 3 * o.d_model * o.ffn_width() + 2 * o.d_model;
}

std::int64_t mtp_parameters(const DenseOptions& o) {
  std::int64_t n = 0;
  for (std::int64_t k = 1; k <= o.mtp_depth; ++k)
    n += 2 * o.d_model + 2 * o.d_model * o.d_model + dense_block_parameters(o, o.n_layers + k - 1);
  return n;
}

std::int64_t embedding_and_head_parameters(const DenseOptions& o) {
  return o.vocab_size * o.d_model * (o.tie_embeddings ? 1 : 2) + o.d_model;
}

double norm_bytes(std::int64_t width, const StepBytes& b) {
  return (2 * kFloat32 + b.compute) * as_double(width);
}

double swiglu_bytes(std::int64_t hidden, const StepBytes& b) { return 4 * b.compute * as_double(hidden); }

LayerBytes mixing_bytes(const DenseOptions& o, std::int64_t layer, std::int64_t seq_len,
                        const StepBytes& b) {
  const bool local = o.local.is_local_layer(layer);
  LayerBytes attention =
      o.uses_mla() ? latent_attention_bytes(o, seq_len, b)
                   : grouped_query_bytes(o.n_heads, o.kv_heads(), o.head_dim(),
                                         local ? std::min(o.local.window, seq_len) : seq_len, local, b);
  if (o.local.has_global_branch(layer)) {
    const LayerBytes global =
        grouped_query_bytes(o.local.global_heads, o.local.global_heads, o.head_dim(), seq_len, false, b);
    attention.tensors += global.tensors;
    attention.scores += global.scores;
  }
  // The residual stream after attention and after the block, in the weights' dtype.
  const double residual = 2 * b.param * as_double(o.d_model);
  return {residual + 2 * norm_bytes(o.d_model, b) + attention.tensors, attention.scores};
}

std::int64_t concatenated_parameters(const DenseOptions& o, std::int64_t layer) {
  const std::int64_t D = o.d_model;
  std::int64_t n = 2 * D * o.ffn_width();
  if (o.uses_mla()) {
    const std::int64_t queries =
        o.q_lora_rank > 0 ? o.q_lora_rank : o.n_heads * (o.nope_dim() + o.rope_dim());
    n += D * (queries + o.kv_lora_rank + o.rope_dim());
  } else {
    n += D * (o.n_heads + 2 * o.kv_heads()) * o.head_dim();
  }
  if (o.local.has_global_branch(layer)) n += 3 * D * o.local.global_heads * o.head_dim();
  return n;
}

double layer_cache_bytes(const DenseOptions& o, std::int64_t layer, const StepBytes& b) {
  double values = o.uses_mla() ? as_double(o.kv_lora_rank + o.rope_dim())
                               : as_double(2 * o.kv_heads() * o.head_dim());
  if (o.local.has_global_branch(layer)) values += as_double(2 * o.local.global_heads * o.head_dim());
  return values * b.param;
}

void DecoderLayers::add(const LayerBytes& block_bytes, std::int64_t block_parameters,
                        std::int64_t block_concatenated, double block_cache_bytes) {
  bytes.push_back(block_bytes);
  parameters += block_parameters;
  largest_block = std::max(largest_block, block_parameters);
  concatenated += block_concatenated;
  largest_concatenated = std::max(largest_concatenated, block_concatenated);
  cache_bytes += block_cache_bytes;
}

ModelFootprint assemble_footprint(const DenseOptions& o, const DecoderLayers& layers,
                                  std::int64_t matmul_parameters, const FootprintQuery& query) {
  const StepBytes b = step_bytes(query);
  const double D = as_double(o.d_model), V = as_double(o.vocab_size);
  ModelFootprint f;
  f.parameters = layers.parameters + embedding_and_head_parameters(o) + mtp_parameters(o);
  f.active_parameters = f.parameters;
  f.largest_block_parameters = layers.largest_block;
  f.kv_cache_bytes_per_token = layers.cache_bytes;

  // The final norm, the logits, and the cross-entropy's float32 log-probabilities, their
  // gradient and the logits' gradient at the start of backward.
  const double head = norm_bytes(o.d_model, b) + b.compute * V + 3 * kFloat32 * V;
  double mtp = 0;
  std::int64_t mtp_concatenated = 0;
  for (std::int64_t k = 1; k <= o.mtp_depth; ++k) {
    // The looked-up embeddings, two norms whose outputs are joined for the projection, a
    // block (never checkpointed), the head again and its loss's float32 log-probabilities.
    const std::int64_t layer = o.n_layers + k - 1;
    const LayerBytes block = mixing_bytes(o, layer, query.seq_len, b);
    mtp += b.param * D + 4 * kFloat32 * D + 2 * b.compute * D + block.tensors + block.scores +
           swiglu_bytes(o.ffn_width(), b) + norm_bytes(o.d_model, b) + (b.compute + kFloat32) * V;
    mtp_concatenated += concatenated_parameters(o, layer);
  }
  // The gradients flowing back through the residual stream and out of a block.
  const double in_flight = 2 * b.param * D;

  if (!o.activation_checkpointing) {
    // Everything the forward pass kept is alive when backward starts at the loss.
    double blocks = b.param * D + in_flight;  // the embeddings: the first block's input
    double scores = 0;
    for (const LayerBytes& layer : layers.bytes) {
      blocks += layer.tensors;
      scores += layer.scores;
    }
    f.activations.push_back({"blocks", blocks});
    if (scores > 0) f.activations.push_back({"attention scores", scores});
    f.activations.push_back({"output head and loss", head});
  } else {
    // Only the blocks' inputs are kept. The peak is either at the loss, with the head's (and
    // the prediction modules') tensors, or later, when backward recomputes the largest block.
    f.activations.push_back(
        {"block inputs", b.param * D * as_double(static_cast<std::int64_t>(layers.bytes.size()))});
    const auto largest = std::max_element(
        layers.bytes.begin(), layers.bytes.end(),
        [](const LayerBytes& x, const LayerBytes& y) { return x.tensors + x.scores < y.tensors + y.scores; });
    const LayerBytes recomputed = largest == layers.bytes.end() ? LayerBytes{} : *largest;
    if (recomputed.tensors + recomputed.scores + in_flight > head + mtp) {
      f.activations.push_back({"recomputed block", recomputed.tensors + in_flight});
      if (recomputed.scores > 0) f.activations.push_back({"attention scores", recomputed.scores});
      mtp = 0;
    } else {
      f.activations.push_back({"output head and loss", head});
    }
  }
  if (mtp > 0) f.activations.push_back({"multi-token prediction", mtp});

  if (query.compute_dtype != query.param_dtype) {
    // Autocast keeps a cast of every matmul weight: cached for the weights themselves, saved
    // for backward for the concatenations.
    f.weight_copy_bytes = b.compute * as_double(matmul_parameters);
  } else {
    const std::int64_t kept = o.activation_checkpointing ? layers.largest_concatenated : layers.concatenated;
    f.weight_copy_bytes = b.param * as_double(kept + mtp_concatenated);
  }
  return f;
}

ModelFootprint dense_footprint(const DenseOptions& o, const FootprintQuery& query) {
  const StepBytes b = step_bytes(query);
  DecoderLayers layers;
  for (std::int64_t i = 0; i < o.n_layers; ++i) {
    LayerBytes bytes = mixing_bytes(o, i, query.seq_len, b);
    bytes.tensors += swiglu_bytes(o.ffn_width(), b);
    layers.add(bytes, dense_block_parameters(o, i), concatenated_parameters(o, i),
               layer_cache_bytes(o, i, b));
  }
  return assemble_footprint(o, layers, dense_matmul_parameters(o), query);
}

}  // namespace anvil::nn
