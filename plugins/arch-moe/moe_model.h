#pragma once
/// @file moe_model.h
/// The "moe" architecture, DeepSeekMoE-style: the dense decoder's embedding, attention, norms
/// and head; its first n_dense_layers blocks are dense ones (DenseBlock), the others replace
/// the SwiGLU with an MoE layer of fine-grained routed experts plus shared experts
/// (nn::MoEFeedForward). The balance loss reaches the trainer as the auxiliary loss
/// "moe_balance"; auxiliary-loss-free balancing moves the routers' biases after each step
/// (StepObserver), which also reports the experts' load.
///
/// Parameter names: those of the dense model, with layers.<i>.feed_forward.{router.weight,
/// experts.w1, experts.w2, experts.w3, shared.w1.weight, ...} in the MoE layers and the
/// buffer layers.<i>.feed_forward.router.expert_bias.

#include <anvil/nn/decoder/dense_layers.h>
#include <anvil/nn/decoder/dense_model.h>
#include "moe_options.h"

#include <anvil/context.h>
#include <anvil/model.h>
#include <anvil/nn/moe.h>

#include <ATen/core/Generator.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace anvil::builtin {

// The SDK's dense decoder, which this architecture builds on.
using nn::DenseBlock;
using nn::DenseCache;
using nn::LayerCache;
using nn::MTPModule;
using nn::RMSNorm;
using nn::RotaryTables;
using nn::decoder_init_seed;
using nn::init_decoder_parameters;
using nn::require_vocab_size;
using nn::rotary_tables;
using nn::run_dense_block;

/// The MoE layer's options of a model's options.
nn::MoEOptions moe_layer_options(const MoEModelOptions& options);

/// Pre-norm block with an MoE feed-forward: x + attention(norm(x)), then h + moe(norm(h)).
class MoEBlockImpl : public torch::nn::Cloneable<MoEBlockImpl> {
 public:
  explicit MoEBlockImpl(const MoEModelOptions& options);
  void reset() override;
  /// As DenseBlockImpl::forward; `output` of the result is the block's output (residuals
  /// included), with the MoE layer's balance loss and load.
  nn::MoEOutput forward(const at::Tensor& x, const RotaryTables& rope, bool dropout,
                        LayerCache* cache = nullptr, std::int64_t offset = 0);

  MoEModelOptions options;
  RMSNorm attention_norm{nullptr};
  nn::GroupedQueryAttention attention{nullptr};            ///< empty with MLA
  nn::MultiHeadLatentAttention latent_attention{nullptr};  ///< set with MLA, as "attention"
  RMSNorm ffn_norm{nullptr};
  nn::MoEFeedForward feed_forward{nullptr};
};
TORCH_MODULE(MoEBlock);

/// What the decoder's layers produce besides the hidden states.
struct MoEHidden {
  at::Tensor hidden;                ///< [B, T, D] after the final norm
  at::Tensor trunk;                 ///< [B, T, D] the last block's output, before the norm
  at::Tensor aux_loss;              ///< sum of the MoE layers' balance losses; may be undefined
  std::vector<at::Tensor> loads;    ///< [E] per MoE layer, in order
  std::int64_t dropped = 0;         ///< assignments cut by the capacity, all layers
};

/// The module that owns every parameter of the MoE decoder.
class MoEImpl : public torch::nn::Cloneable<MoEImpl> {
 public:
  /// Throws anvil::Error listing every problem when `options` are inconsistent.
  explicit MoEImpl(MoEModelOptions options);
  void reset() override;
  /// init_decoder_parameters with the options' init_std and depth.
  void initialize(at::Generator& generator);
  /// As DenseImpl::hidden_states, with the MoE layers' losses and loads.
  MoEHidden hidden_states(const at::Tensor& tokens, std::vector<LayerCache>* cache = nullptr,
                          std::int64_t offset = 0);
  /// Logits [B, T, V] of hidden states [B, T, D].
  at::Tensor logits(const at::Tensor& hidden);
  /// The weighted multi-token prediction loss (mtp_loss; its blocks are dense ones).
  at::Tensor mtp_loss(const at::Tensor& trunk, const at::Tensor& tokens);

  MoEModelOptions options;
  torch::nn::Embedding tok_embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};  ///< n_dense_layers DenseBlocks, then MoEBlocks
  std::vector<DenseBlock> dense_blocks;
  std::vector<MoEBlock> moe_blocks;
  RMSNorm norm{nullptr};
  torch::nn::Linear output{nullptr};  ///< empty when tie_embeddings
  std::vector<MTPModule> mtp;         ///< base.mtp_depth modules, registered as "mtp" when any
};
TORCH_MODULE(MoE);

/// The Model interface over an MoE module.
class MoEModel final : public Model, public StepObserver {
 public:
  /// Built and initialised as DenseModel is.
  MoEModel(MoEModelOptions options, const RunContext& context);

  torch::nn::Module& module() override { return *net_; }
  /// Logits, hidden states and, in training mode, the auxiliary losses "moe_balance" and, with
  /// mtp_depth > 0, "mtp". Training
  /// passes with autograd on add their expert load to the step's.
  ModelOutput forward(const at::Tensor& tokens) override;
  std::vector<std::shared_ptr<torch::nn::Module>> blocks() override;
  std::int64_t vocab_size() const override { return net_->options.base.vocab_size; }
  std::int64_t max_seq_len() const override { return net_->options.base.max_seq_len; }
  /// moe_flops_per_token: active parameters only.
  double flops_per_token(std::int64_t seq_len) const override;
  std::unique_ptr<KVCache> new_cache(std::int64_t batch, std::int64_t max_len) override;
  at::Tensor decode(const at::Tensor& tokens, KVCache& cache) override;
  /// Moves the routers' biases by bias_update_speed from the step's load (when `updated`),
  /// and returns the load metrics: moe.imbalance (max / mean load, mean over MoE layers),
  /// moe.imbalance_max (the worst layer), moe.layer<i>.imbalance, moe.load.e<j> (expert j's
  /// share of the assignments, mean over layers) and, with a capacity, moe.dropped (share of
  /// assignments cut). Empty when no training pass ran since the last call.
  Metrics end_step(bool updated) override;

  MoE& net() noexcept { return net_; }

 private:
  MoE net_{nullptr};
  std::vector<at::Tensor> step_loads_;  ///< per MoE layer, summed over the step's passes
  std::int64_t step_dropped_ = 0;
  std::int64_t step_tokens_ = 0;
};

/// What the plugin's factory calls: vocab_size from context.vocab_size, which must be known.
std::unique_ptr<MoEModel> make_moe_model(MoEModelOptions options, const RunContext& context);

}  // namespace anvil::builtin
