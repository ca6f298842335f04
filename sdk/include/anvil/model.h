#pragma once
/// @file model.h
/// Interface of architecture components (kind "architecture"): a factory builds a Model.

#include <anvil/component.h>
#include <anvil/export.h>
#include <anvil/metrics.h>
#include <anvil/tensor_types.h>

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace anvil {

/// Per-sequence state of incremental decoding (keys and values of past tokens).
class ANVIL_SDK_API KVCache {
 public:
  /// Frees the cached keys and values.
  virtual ~KVCache();
  /// Number of tokens already in the cache.
  virtual std::int64_t length() const = 0;
};

/// A language model built by an architecture plugin.
class ANVIL_SDK_API Model : public Component {
 public:
  /// The kind this interface is registered as (Registry::add<T>).
  static constexpr ComponentKind kKind = ComponentKind::architecture;

  /// The module that owns every parameter and buffer (for to(), train()/eval(), state).
  virtual torch::nn::Module& module() = 0;
  /// Full forward pass. @param tokens [B, T] int64. @return logits [B, T, V] and extras.
  virtual ModelOutput forward(const at::Tensor& tokens) = 0;
  /// The repeated blocks, in order, so the core can shard, offload and checkpoint per block.
  virtual std::vector<std::shared_ptr<torch::nn::Module>> blocks() = 0;
  /// Vocabulary size V of the logits.
  virtual std::int64_t vocab_size() const = 0;
  /// Longest sequence the model supports (positions); 0 if unbounded.
  virtual std::int64_t max_seq_len() const = 0;
  /// Training FLOPs per token (forward + backward) at sequence length `seq_len`: 6N plus the
  /// attention term, counting only active parameters. Used for MFU.
  virtual double flops_per_token(std::int64_t seq_len) const = 0;
  /// An empty cache for incremental decoding of `batch` sequences up to `max_len` tokens.
  virtual std::unique_ptr<KVCache> new_cache(std::int64_t batch, std::int64_t max_len) = 0;
  /// Decodes the next tokens. @param tokens [B, t] ids following those already in `cache`.
  /// @return logits [B, t, V], equal to the last t positions of a full forward pass.
  virtual at::Tensor decode(const at::Tensor& tokens, KVCache& cache) = 0;
};

/// Optional second interface of a Model whose state changes between optimizer steps outside
/// autograd, such as the expert biases of auxiliary-loss-free MoE balancing. The trainer finds
/// it with dynamic_cast and calls end_step() once per training step. (A separate class rather
/// than a new virtual of Model, so that plugins built against an older SDK keep working.)
class ANVIL_SDK_API StepObserver {
 public:
  virtual ~StepObserver();
  /// Called after the optimizer step with `updated` true, or with false when the step was
  /// skipped (non-finite loss or gradients). @return metrics of the step's forward passes
  /// (e.g. per-expert load), which the trainer averages over the logging interval and writes
  /// to metrics.jsonl.
  virtual Metrics end_step(bool updated) = 0;
};

/// Total number of elements of the model's parameters. (This and check_decode_tokens run
/// LibTorch code: they are defined in libanvil_nn, which every tensor plugin links.)
ANVIL_SDK_API std::int64_t parameter_count(Model& model);

/// The checks every Model::decode() starts with: `tokens` is [B, t] int64 with B == `batch`
/// (the cache's), and the cache, holding `cache_length` of `max_len` tokens, has room for t
/// more. Throws anvil::Error starting with `model` ("dense: tokens must be [B, t], got ...").
ANVIL_SDK_API void check_decode_tokens(const std::string& model, const at::Tensor& tokens,
                                       std::int64_t batch, std::int64_t cache_length,
                                       std::int64_t max_len);

}  // namespace anvil
