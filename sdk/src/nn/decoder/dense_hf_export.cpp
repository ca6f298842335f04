// The dense model as a Hugging Face LlamaForCausalLM: config.json and the tensor names (see
// dense_model.h and docs/export.md). The two architectures compute the same function: both
// are pre-norm Llama blocks with RMSNorm (normalised in float32, gain applied after the cast
// back), rotate_half RoPE, grouped-query attention whose key/value heads each serve
// consecutive query heads, and the SwiGLU MLP down(silu(gate x) * up x). So the weights are
// renamed, never permuted or reshaped.
#include <anvil/nn/decoder/dense_model.h>

#include <anvil/errors.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <utility>

namespace anvil::nn {

std::string dense_hf_config(const DenseOptions& o) {
  nlohmann::ordered_json config;
  config["architectures"] = nlohmann::ordered_json::array({"LlamaForCausalLM"});
  config["model_type"] = "llama";
  config["vocab_size"] = o.vocab_size;
  config["hidden_size"] = o.d_model;
  config["intermediate_size"] = o.ffn_width();
  config["num_hidden_layers"] = o.n_layers;
  config["num_attention_heads"] = o.n_heads;
  config["num_key_value_heads"] = o.kv_heads();
  config["head_dim"] = o.head_dim();
  config["hidden_act"] = "silu";
  config["max_position_embeddings"] = o.max_seq_len;
  config["rms_norm_eps"] = o.norm_eps;
  config["rope_theta"] = o.rope_base;
  config["rope_scaling"] = nullptr;
  config["attention_bias"] = false;
  config["attention_dropout"] = 0.0;
  config["mlp_bias"] = false;
  config["pretraining_tp"] = 1;
  config["tie_word_embeddings"] = o.tie_embeddings;
  config["initializer_range"] = o.init_std;
  config["use_cache"] = true;
  // The exporter fills these from the tokenizer and the dtype it writes.
  config["bos_token_id"] = nullptr;
  config["eos_token_id"] = nullptr;
  config["torch_dtype"] = "float32";
  return config.dump(2) + "\n";
}

namespace {

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::string dense_hf_name(const std::string& name) {
  static const std::array<std::pair<const char*, const char*>, 3> kTop{{
      {"tok_embeddings.weight", "model.embed_tokens.weight"},
      {"norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  }};
  // Inside layers.<i>.
  static const std::array<std::pair<const char*, const char*>, 9> kBlock{{
      {"attention_norm.weight", "input_layernorm.weight"},
      {"attention.wq.weight", "self_attn.q_proj.weight"},
      {"attention.wk.weight", "self_attn.k_proj.weight"},
      {"attention.wv.weight", "self_attn.v_proj.weight"},
      {"attention.wo.weight", "self_attn.o_proj.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"feed_forward.w1.weight", "mlp.gate_proj.weight"},
      {"feed_forward.w2.weight", "mlp.down_proj.weight"},
      {"feed_forward.w3.weight", "mlp.up_proj.weight"},
  }};
  for (const auto& [ours, theirs] : kTop)
    if (name == ours) return theirs;
  if (starts_with(name, "layers.")) {
    const std::size_t dot = name.find('.', 7);
    const std::string index = name.substr(7, dot == std::string::npos ? dot : dot - 7);
    const bool numeric =
        !index.empty() && index.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && dot != std::string::npos) {
      const std::string rest = name.substr(dot + 1);
      for (const auto& [ours, theirs] : kBlock)
        if (rest == ours) return "model.layers." + index + "." + theirs;
    }
  }
  throw Error("dense: parameter '" + name + "' has no Hugging Face Llama name",
              "this is a bug in the dense plugin's export mapping (dense_hf_export.cpp)");
}

HuggingFaceModel DenseModel::to_hugging_face() const {
  // Llama attends over every position; a sliding window would silently change the model.
  if (net_->options.local.window > 0)
    throw Error("hybrid: sliding-window attention has no Hugging Face Llama equivalent",
                "anvil export writes Llama folders for the dense architecture only");
  if (net_->options.uses_mla())
    throw Error("dense: multi-head latent attention has no Hugging Face Llama equivalent",
                "anvil export writes Llama folders for attention = \"gqa\" only");
  HuggingFaceModel hf;
  hf.config_json = dense_hf_config(net_->options);
  for (const auto& item : net_->named_parameters()) {
    // Multi-token prediction modules serve training only; Llama has no place for them.
    if (item.key().rfind("mtp.", 0) == 0) continue;
    hf.tensors.emplace_back(dense_hf_name(item.key()), item.value().detach());
  }
  return hf;
}

}  // namespace anvil::nn
