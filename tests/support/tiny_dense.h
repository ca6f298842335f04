#pragma once
// A small dense model for tests that need a real architecture under them (the trainer's step,
// sampling): 2 layers of width 32, 4 query heads, built with a fixed seed.

#include <anvil/nn/decoder/dense_model.h>

#include <cstdint>
#include <memory>

namespace anvil::test {

inline std::unique_ptr<nn::DenseModel> tiny_dense(std::int64_t vocab, std::int64_t max_seq_len,
                                                       std::int64_t kv_heads, std::uint64_t seed) {
  nn::DenseOptions o;
  o.vocab_size = vocab;
  o.d_model = 32;
  o.n_layers = 2;
  o.n_heads = 4;
  o.n_kv_heads = kv_heads;
  o.ffn_hidden = 48;
  o.max_seq_len = max_seq_len;
  RunContext context;
  context.vocab_size = vocab;
  context.seed = seed;
  return nn::make_dense_model(o, context);
}

/// The dense decoder of `o` (vocab_size taken from it) in `dtype`, initialised from `seed`.
inline std::unique_ptr<nn::DenseModel> build_dense(const nn::DenseOptions& o,
                                                        at::ScalarType dtype, std::uint64_t seed) {
  RunContext context;
  context.vocab_size = o.vocab_size;
  context.param_dtype = dtype;
  context.seed = seed;
  return nn::make_dense_model(o, context);
}

}  // namespace anvil::test
