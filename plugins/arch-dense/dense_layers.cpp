// The dense decoder's block (see dense_layers.h); its layers are the SDK's.
#include "dense_layers.h"

#include <ATen/Functions.h>

namespace anvil::builtin {

nn::AttentionOptions attention_options(const DenseOptions& options) {
  nn::AttentionOptions a;
  a.d_model = options.d_model;
  a.n_heads = options.n_heads;
  a.n_kv_heads = options.kv_heads();
  a.head_dim = options.head_dim();
  return a;
}

DenseBlockImpl::DenseBlockImpl(const DenseOptions& options_) : options(options_) { reset(); }

void DenseBlockImpl::reset() {
  attention_norm = register_module("attention_norm", RMSNorm(options.d_model, options.norm_eps));
  attention = register_module("attention", nn::GroupedQueryAttention(attention_options(options)));
  ffn_norm = register_module("ffn_norm", RMSNorm(options.d_model, options.norm_eps));
  feed_forward = register_module("feed_forward", nn::SwiGLU(options.d_model, options.ffn_width()));
}

at::Tensor DenseBlockImpl::forward(const at::Tensor& x, const RotaryTables& rope, bool dropout,
                                   KVSlot* cache, std::int64_t offset) {
  const bool drop = dropout && options.dropout > 0;
  const at::Tensor h =
      x + at::dropout(attention->forward(attention_norm->forward(x), rope, cache, offset),
                      options.dropout, drop);
  return h + at::dropout(feed_forward->forward(ffn_norm->forward(h)), options.dropout, drop);
}

}  // namespace anvil::builtin
