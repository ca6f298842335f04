// The dense decoder's manifest keys (see dense_schema.h).
#include "dense_schema.h"

namespace anvil::builtin {

void add_dense_schema(OptionSchema& schema, const DenseOptions& defaults) {
  schema.add("d_model", defaults.d_model, "width of the residual stream").min(1);
  schema.add("n_layers", defaults.n_layers, "number of decoder blocks").min(1);
  schema
      .add("n_heads", defaults.n_heads,
           "attention (query) heads; must divide d_model, leaving an even head width")
      .min(1);
  schema
      .add("n_kv_heads", defaults.n_kv_heads,
           "key/value heads for grouped-query attention; 0 = n_heads, else must divide n_heads")
      .min(0);
  schema
      .add("ffn_hidden", defaults.ffn_hidden,
           "hidden width of the SwiGLU MLP; 0 = ffn_multiplier * d_model rounded up to a "
           "multiple of ffn_multiple_of")
      .min(0);
  schema
      .add("ffn_multiplier", defaults.ffn_multiplier,
           "SwiGLU width per d_model when ffn_hidden = 0 (8/3: the parameters of a 4x MLP)")
      .min(0.0);
  schema
      .add("ffn_multiple_of", defaults.ffn_multiple_of,
           "the derived SwiGLU width is rounded up to a multiple of this")
      .min(1);
  schema.add("max_seq_len", defaults.max_seq_len, "longest sequence (positions) the model accepts")
      .min(1);
  schema.add("rope_base", defaults.rope_base, "base of the rotary position frequencies (> 0)")
      .min(0.0);
  schema.add("norm_eps", defaults.norm_eps, "epsilon added inside every RMSNorm (> 0)").min(0.0);
  schema.add("tie_embeddings", defaults.tie_embeddings,
             "share the token embedding's weight with the output head");
  schema
      .add("dropout", defaults.dropout,
           "dropout probability on the embeddings and on each attention / MLP output before "
           "its residual add, in training only; < 1")
      .range(0.0, 1.0);
  schema
      .add("init_std", defaults.init_std,
           "std of the normal init of every weight matrix (> 0); attention.wo and "
           "feed_forward.w2 use init_std / sqrt(2 * n_layers)")
      .min(0.0);
  schema.add("activation_checkpointing", defaults.activation_checkpointing,
             "recompute each block's activations in backward instead of storing them "
             "(less memory, one more forward pass)");
}


DenseOptions read_dense_options(const Options& options, const RunContext& context) {
  DenseOptions o;
  o.vocab_size = context.vocab_size;
  o.d_model = options.get<std::int64_t>("d_model");
  o.n_layers = options.get<std::int64_t>("n_layers");
  o.n_heads = options.get<std::int64_t>("n_heads");
  o.n_kv_heads = options.get<std::int64_t>("n_kv_heads");
  o.ffn_hidden = options.get<std::int64_t>("ffn_hidden");
  o.ffn_multiplier = options.get<double>("ffn_multiplier");
  o.ffn_multiple_of = options.get<std::int64_t>("ffn_multiple_of");
  o.max_seq_len = options.get<std::int64_t>("max_seq_len");
  o.rope_base = options.get<double>("rope_base");
  o.norm_eps = options.get<double>("norm_eps");
  o.tie_embeddings = options.get<bool>("tie_embeddings");
  o.dropout = options.get<double>("dropout");
  o.init_std = options.get<double>("init_std");
  o.activation_checkpointing = options.get<bool>("activation_checkpointing");
  return o;
}

void report_problems(const Options& options, const std::vector<DenseOptionProblem>& problems) {
  for (const DenseOptionProblem& problem : problems)
    if (problem.key != "vocab_size") options.error(problem.key, problem.message);
}

}  // namespace anvil::builtin
