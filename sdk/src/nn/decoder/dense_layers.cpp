// The dense decoder's block (see dense_layers.h); its layers are the SDK's.
#include <anvil/nn/decoder/dense_layers.h>

#include <ATen/Functions.h>

namespace anvil::nn {

nn::AttentionOptions attention_options(const DenseOptions& options, std::int64_t layer) {
  nn::AttentionOptions a;
  a.d_model = options.d_model;
  a.n_heads = options.n_heads;
  a.n_kv_heads = options.kv_heads();
  a.head_dim = options.head_dim();
  a.window = options.local.is_local_layer(layer) ? options.local.window : 0;
  return a;
}

nn::AttentionOptions global_branch_options(const DenseOptions& options) {
  nn::AttentionOptions a;
  a.d_model = options.d_model;
  a.n_heads = options.local.global_heads;
  a.n_kv_heads = options.local.global_heads;
  a.head_dim = options.head_dim();
  return a;
}

nn::LatentAttentionOptions latent_attention_options(const DenseOptions& options) {
  nn::LatentAttentionOptions a;
  a.d_model = options.d_model;
  a.n_heads = options.n_heads;
  a.q_lora_rank = options.q_lora_rank;
  a.kv_lora_rank = options.kv_lora_rank;
  a.qk_nope_head_dim = options.nope_dim();
  a.qk_rope_head_dim = options.rope_dim();
  a.v_head_dim = options.value_dim();
  a.norm_eps = options.norm_eps;
  return a;
}

at::Tensor attend(nn::GroupedQueryAttention& attention, nn::MultiHeadLatentAttention& latent,
                  nn::GroupedQueryAttention& global, const at::Tensor& x, const RotaryTables& rope,
                  LayerCache* cache, std::int64_t offset) {
  at::Tensor mixed = latent ? latent->forward(x, rope, cache ? &cache->latent : nullptr, offset)
                            : attention->forward(x, rope, cache ? &cache->attention : nullptr, offset);
  if (global) mixed = mixed + global->forward(x, rope, cache ? &cache->global : nullptr, offset);
  return mixed;
}

DenseBlockImpl::DenseBlockImpl(const DenseOptions& options_, std::int64_t layer_)
    : options(options_), layer(layer_) {
  reset();
}

void DenseBlockImpl::reset() {
  attention_norm = register_module("attention_norm", RMSNorm(options.d_model, options.norm_eps));
  attention = nullptr;
  latent_attention = nullptr;
  if (options.uses_mla())
    latent_attention = register_module(
        "attention", nn::MultiHeadLatentAttention(latent_attention_options(options)));
  else
    attention =
        register_module("attention", nn::GroupedQueryAttention(attention_options(options, layer)));
  global_attention = nullptr;
  if (options.local.has_global_branch(layer))
    global_attention = register_module("global_attention",
                                       nn::GroupedQueryAttention(global_branch_options(options)));
  ffn_norm = register_module("ffn_norm", RMSNorm(options.d_model, options.norm_eps));
  feed_forward = register_module("feed_forward", nn::SwiGLU(options.d_model, options.ffn_width()));
}

at::Tensor DenseBlockImpl::forward(const at::Tensor& x, const RotaryTables& rope, bool dropout,
                                   LayerCache* cache, std::int64_t offset) {
  const bool drop = dropout && options.dropout > 0;
  const at::Tensor mixed = attend(attention, latent_attention, global_attention,
                                  attention_norm->forward(x), rope, cache, offset);
  const at::Tensor h = x + at::dropout(mixed, options.dropout, drop);
  return h + at::dropout(feed_forward->forward(ffn_norm->forward(h)), options.dropout, drop);
}

}  // namespace anvil::nn
