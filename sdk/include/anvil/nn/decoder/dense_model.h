#pragma once
/// @file dense_model.h
/// The "dense" architecture: a Llama-style decoder. Token embedding, n_layers pre-norm blocks
/// (RMSNorm, grouped-query attention with rotary positions, RMSNorm, SwiGLU MLP, each with a
/// residual add), a final RMSNorm and an output head tied to the embedding or separate.
///
/// Parameter names follow Meta's Llama checkpoints: tok_embeddings.weight,
/// layers.<i>.attention_norm.weight, layers.<i>.attention.{wq,wk,wv,wo}.weight,
/// layers.<i>.ffn_norm.weight, layers.<i>.feed_forward.{w1,w2,w3}.weight, norm.weight and,
/// when untied, output.weight. to_hugging_face() maps them onto Hugging Face's
/// LlamaForCausalLM (docs/export.md).

#include <anvil/nn/decoder/dense_layers.h>
#include <anvil/nn/decoder/dense_options.h>
#include <anvil/nn/decoder/mtp.h>

#include <anvil/context.h>
#include <anvil/hf_export.h>
#include <anvil/model.h>

#include <ATen/core/Generator.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace anvil::nn {

/// The module that owns every parameter of the decoder.
class DenseImpl : public torch::nn::Cloneable<DenseImpl> {
 public:
  /// Throws anvil::Error listing every problem when `options` are inconsistent.
  explicit DenseImpl(DenseOptions options);
  /// (Re)creates every layer (with LibTorch's default initialisation; see initialize()).
  void reset() override;
  /// Draws every parameter from `generator` (a CPU generator; call before moving the module):
  /// normal(0, init_std) for the embedding, the untied head and every matrix, except the
  /// matrices that write into the residual stream (attention.wo, feed_forward.w2), whose std is
  /// init_std / sqrt(2 * n_layers) so that the stream's variance stays independent of depth
  /// (GPT-2's scaled residual init). The norms' gains are 1.
  void initialize(at::Generator& generator);
  /// Final hidden states (after the last norm) of `tokens` [B, T] at positions offset ..
  /// offset + T - 1: [B, T, D]. With `cache` (one slot per layer), the keys and values are
  /// written at those positions and attention also sees the ones before. Dropout applies in
  /// training mode without a cache; activation checkpointing also needs autograd on.
  at::Tensor hidden_states(const at::Tensor& tokens, std::vector<LayerCache>* cache = nullptr,
                           std::int64_t offset = 0);
  /// The last block's output, before the final norm (hidden_states is its norm).
  at::Tensor trunk(const at::Tensor& tokens, std::vector<LayerCache>* cache = nullptr,
                   std::int64_t offset = 0);
  /// The weighted loss of the multi-token prediction modules (see mtp_loss) on the `trunk`
  /// of `tokens`.
  at::Tensor mtp_loss(const at::Tensor& trunk, const at::Tensor& tokens);
  /// Logits [B, T, V] of hidden states [B, T, D].
  at::Tensor logits(const at::Tensor& hidden);

  DenseOptions options;
  torch::nn::Embedding tok_embeddings{nullptr};  ///< [V, D]
  torch::nn::ModuleList layers{nullptr};         ///< the DenseBlocks, registered as "layers"
  std::vector<DenseBlock> blocks;                ///< the same blocks, typed
  RMSNorm norm{nullptr};
  torch::nn::Linear output{nullptr};  ///< D -> V; empty when tie_embeddings
  std::vector<MTPModule> mtp;         ///< mtp_depth modules, registered as "mtp" when any
};
TORCH_MODULE(Dense);

/// Decoding state: every layer's keys and values up to max_len positions.
class DenseCache final : public KVCache {
 public:
  DenseCache(std::vector<LayerCache> slots, std::int64_t batch, std::int64_t max_len)
      : slots_(std::move(slots)), batch_(batch), max_len_(max_len) {}
  std::int64_t length() const override { return length_; }
  std::int64_t batch() const noexcept { return batch_; }
  std::int64_t max_len() const noexcept { return max_len_; }
  /// One entry per layer.
  std::vector<LayerCache>& slots() noexcept { return slots_; }
  /// Records `count` more tokens.
  void advance(std::int64_t count) noexcept { length_ += count; }

 private:
  std::vector<LayerCache> slots_;
  std::int64_t batch_;
  std::int64_t max_len_;
  std::int64_t length_ = 0;
};

/// The Model interface over a Dense module.
class DenseModel final : public Model, public HuggingFaceExportable {
 public:
  /// Builds the decoder on context.device in context.param_dtype, initialised (see
  /// DenseImpl::initialize) from a CPU generator seeded from context.seed, so the weights do
  /// not depend on what else used the global RNG. Throws anvil::Error for invalid options.
  DenseModel(DenseOptions options, const RunContext& context);

  torch::nn::Module& module() override { return *net_; }
  /// Logits [B, T, V] and hidden states [B, T, D]; in training mode with mtp_depth > 0, the
  /// auxiliary loss "mtp".
  ModelOutput forward(const at::Tensor& tokens) override;
  /// The n_layers DenseBlocks.
  std::vector<std::shared_ptr<torch::nn::Module>> blocks() override;
  std::int64_t vocab_size() const override { return net_->options.vocab_size; }
  std::int64_t max_seq_len() const override { return net_->options.max_seq_len; }
  /// dense_flops_per_token: 6 * matmul parameters (head included, embedding lookup not) +
  /// 12 * n_layers * d_model * seq_len for attention.
  double flops_per_token(std::int64_t seq_len) const override;
  /// Keys and values [batch, n_kv_heads, max_len, head_dim] per layer, in the parameters'
  /// dtype and device. max_len may not exceed max_seq_len.
  std::unique_ptr<KVCache> new_cache(std::int64_t batch, std::int64_t max_len) override;
  /// Runs `tokens` [B, t] at positions cache.length() .. + t - 1 without autograd or dropout,
  /// appending their keys and values. @return logits [B, t, V].
  at::Tensor decode(const at::Tensor& tokens, KVCache& cache) override;
  /// The weights as a Hugging Face LlamaForCausalLM (dense_hf_config, dense_hf_name): every
  /// parameter, detached (sharing storage), in the module's order; no lm_head when tied.
  HuggingFaceModel to_hugging_face() const override;

  Dense& net() noexcept { return net_; }

 private:
  Dense net_{nullptr};
};

/// Runs `block` on `x` as the decoder's loop does: under activation checkpointing (with
/// dropout, no cache) when `checkpointing`, else directly with `dropout`, `cache` and `offset`.
at::Tensor run_dense_block(DenseBlock& block, const at::Tensor& x, const RotaryTables& rope,
                           bool dropout, bool checkpointing, LayerCache* cache,
                           std::int64_t offset);

/// The seed of a decoder's initialisation: derive_seed(run_seed, 0) (<anvil/context.h>),
/// so that it differs from other components' streams (RunContext asks to derive, never reuse).
std::uint64_t decoder_init_seed(std::uint64_t run_seed);

/// Draws every parameter of a decoder `module` from `generator`, in registration order:
/// gains of norms (names ending "norm.weight") 1; the matrices that write into the residual
/// stream (names ending "wo.weight", "w2.weight" or "experts.w2") normal(0, init_std /
/// sqrt(2 * n_layers)) (GPT-2's scaled residual init); everything else normal(0, init_std).
void init_decoder_parameters(torch::nn::Module& module, double init_std, std::int64_t n_layers,
                             at::Generator& generator);

/// Zeroed keys and values of every layer of a decoder with `options`: [batch, n_kv_heads,
/// max_len, head_dim] per attention, or with MLA the latent [batch, max_len, kv_lora_rank] and
/// rotary key [batch, max_len, rope width] (and [batch, global_heads, max_len, head_dim] per
/// global branch), with `tensor_options` (the model's dtype and device).
std::vector<LayerCache> dense_layer_caches(const DenseOptions& options, std::int64_t batch,
                                           std::int64_t max_len,
                                           const at::TensorOptions& tensor_options);

/// Throws anvil::Error when the run context does not know the tokenizer's vocabulary size,
/// which architecture `name` needs.
void require_vocab_size(const std::string& name, const RunContext& context);

/// config.json of a Hugging Face LlamaForCausalLM with the architecture of `options`.
/// RoPE needs no conversion: the dense model already rotates the halves of each head
/// (rotate_half), as that class does.
std::string dense_hf_config(const DenseOptions& options);

/// The Hugging Face name of a dense parameter ("layers.3.attention.wq.weight" ->
/// "model.layers.3.self_attn.q_proj.weight"); throws anvil::Error for a name that is not one.
std::string dense_hf_name(const std::string& name);

/// What the plugin's factory calls: `options` with vocab_size taken from context.vocab_size,
/// which must be known (> 0).
std::unique_ptr<DenseModel> make_dense_model(DenseOptions options, const RunContext& context);

}  // namespace anvil::nn
