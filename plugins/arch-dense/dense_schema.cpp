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
  schema
      .add("mtp_depth", defaults.mtp_depth,
           "multi-token prediction modules (DeepSeek-V3): module k also predicts the token k + 1 "
           "ahead, in training only (0 = none)")
      .min(0);
  schema.add("mtp_weight", defaults.mtp_weight, "lambda: weight of the modules' mean loss").min(0.0);
}


void add_latent_attention_schema(OptionSchema& schema, const DenseOptions& defaults) {
  schema
      .add("attention", defaults.attention,
           "\"gqa\": grouped-query attention; \"mla\": multi-head latent attention (DeepSeek-V2), "
           "whose KV cache holds kv_lora_rank + qk_rope_head_dim values per token and layer")
      .one_of({"gqa", "mla"});
  schema.add("q_lora_rank", defaults.q_lora_rank, "MLA: query compression width (0 = none)").min(0);
  schema.add("kv_lora_rank", defaults.kv_lora_rank, "MLA: width of the compressed key/value latent")
      .min(1);
  schema
      .add("qk_nope_head_dim", defaults.qk_nope_head_dim,
           "MLA: per-head query/key width without positions (0 = d_model / n_heads)")
      .min(0);
  schema
      .add("qk_rope_head_dim", defaults.qk_rope_head_dim,
           "MLA: per-head width of the decoupled rotary query/key (0 = half the head width; even)")
      .min(0);
  schema.add("v_head_dim", defaults.v_head_dim, "MLA: per-head value width (0 = d_model / n_heads)")
      .min(0);
}

void read_latent_attention_options(const Options& options, DenseOptions& o) {
  o.attention = options.get<std::string>("attention");
  o.q_lora_rank = options.get<std::int64_t>("q_lora_rank");
  o.kv_lora_rank = options.get<std::int64_t>("kv_lora_rank");
  o.qk_nope_head_dim = options.get<std::int64_t>("qk_nope_head_dim");
  o.qk_rope_head_dim = options.get<std::int64_t>("qk_rope_head_dim");
  o.v_head_dim = options.get<std::int64_t>("v_head_dim");
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
  o.mtp_depth = options.get<std::int64_t>("mtp_depth");
  o.mtp_weight = options.get<double>("mtp_weight");
  return o;
}

void report_problems(const Options& options, const std::vector<DenseOptionProblem>& problems) {
  for (const DenseOptionProblem& problem : problems)
    if (problem.key != "vocab_size") options.error(problem.key, problem.message);
}

}  // namespace anvil::builtin
