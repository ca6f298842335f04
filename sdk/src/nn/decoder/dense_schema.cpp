// The dense decoder's manifest keys (see dense_schema.h).
#include <anvil/nn/decoder/dense_schema.h>

namespace anvil::nn {

OptionBinding<DenseOptions> dense_binding(const DenseOptions& defaults, bool latent_attention) {
  OptionBinding<DenseOptions> binding(defaults);
  binding.bind("d_model", &DenseOptions::d_model, "width of the residual stream").min(1);
  binding.bind("n_layers", &DenseOptions::n_layers, "number of decoder blocks").min(1);
  binding
      .bind("n_heads", &DenseOptions::n_heads,
           "attention (query) heads; must divide d_model, leaving an even head width")
      .min(1);
  binding
      .bind("n_kv_heads", &DenseOptions::n_kv_heads,
           "key/value heads for grouped-query attention; 0 = n_heads, else must divide n_heads")
      .min(0);
  binding
      .bind("ffn_hidden", &DenseOptions::ffn_hidden,
           "hidden width of the SwiGLU MLP; 0 = ffn_multiplier * d_model rounded up to a "
           "multiple of ffn_multiple_of")
      .min(0);
  binding
      .bind("ffn_multiplier", &DenseOptions::ffn_multiplier,
           "SwiGLU width per d_model when ffn_hidden = 0 (8/3: the parameters of a 4x MLP)")
      .min(0.0);
  binding
      .bind("ffn_multiple_of", &DenseOptions::ffn_multiple_of,
           "the derived SwiGLU width is rounded up to a multiple of this")
      .min(1);
  binding.bind("max_seq_len", &DenseOptions::max_seq_len, "longest sequence (positions) the model accepts")
      .min(1);
  binding.bind("rope_base", &DenseOptions::rope_base, "base of the rotary position frequencies (> 0)")
      .min(0.0);
  binding.bind("norm_eps", &DenseOptions::norm_eps, "epsilon added inside every RMSNorm (> 0)").min(0.0);
  binding.bind("tie_embeddings", &DenseOptions::tie_embeddings,
             "share the token embedding's weight with the output head");
  binding
      .bind("dropout", &DenseOptions::dropout,
           "dropout probability on the embeddings and on each attention / MLP output before "
           "its residual add, in training only; < 1")
      .range(0.0, 1.0);
  binding
      .bind("init_std", &DenseOptions::init_std,
           "std of the normal init of every weight matrix (> 0); attention.wo and "
           "feed_forward.w2 use init_std / sqrt(2 * n_layers)")
      .min(0.0);
  binding.bind("activation_checkpointing", &DenseOptions::activation_checkpointing,
             "recompute each block's activations in backward instead of storing them "
             "(less memory, one more forward pass)");
  binding
      .bind("mtp_depth", &DenseOptions::mtp_depth,
           "multi-token prediction modules (DeepSeek-V3): module k also predicts the token k + 1 "
           "ahead, in training only (0 = none)")
      .min(0);
  binding.bind("mtp_weight", &DenseOptions::mtp_weight, "lambda: weight of the modules' mean loss").min(0.0);
  if (!latent_attention) return binding;
  binding
      .bind("attention", &DenseOptions::attention,
           "\"gqa\": grouped-query attention; \"mla\": multi-head latent attention (DeepSeek-V2), "
           "whose KV cache holds kv_lora_rank + qk_rope_head_dim values per token and layer")
      .one_of({"gqa", "mla"});
  binding.bind("q_lora_rank", &DenseOptions::q_lora_rank, "MLA: query compression width (0 = none)").min(0);
  binding.bind("kv_lora_rank", &DenseOptions::kv_lora_rank, "MLA: width of the compressed key/value latent")
      .min(1);
  binding
      .bind("qk_nope_head_dim", &DenseOptions::qk_nope_head_dim,
           "MLA: per-head query/key width without positions (0 = d_model / n_heads)")
      .min(0);
  binding
      .bind("qk_rope_head_dim", &DenseOptions::qk_rope_head_dim,
           "MLA: per-head width of the decoupled rotary query/key (0 = half the head width; even)")
      .min(0);
  binding.bind("v_head_dim", &DenseOptions::v_head_dim, "MLA: per-head value width (0 = d_model / n_heads)")
      .min(0);
  return binding;
}

DenseOptions read_dense_options(const OptionBinding<DenseOptions>& binding, const Options& options,
                                const RunContext& context) {
  DenseOptions o = binding.read(options);
  o.vocab_size = context.vocab_size;
  return o;
}

void report_problems(const Options& options, const std::vector<DenseOptionProblem>& problems) {
  for (const DenseOptionProblem& problem : problems)
    if (problem.key != "vocab_size") options.error(problem.key, problem.message);
}

}  // namespace anvil::nn
