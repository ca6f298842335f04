#pragma once
/// @file bigram_model.h
/// The "bigram" architecture: the classic bigram language model, whose only parameter is a
/// [V, V] table of next-token logits indexed by the current token (a torch::nn::Embedding).
/// It has no blocks, no positions and no context beyond one token, which makes it the smallest
/// model that exercises the whole training path.

#include <anvil/context.h>
#include <anvil/footprint.h>
#include <anvil/model.h>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <vector>

namespace anvil::builtin {

/// Hyper-parameters of the bigram table.
struct BigramOptions {
  explicit BigramOptions(std::int64_t vocab_size) : vocab_size_(vocab_size) {}
  /// Vocabulary size V: the table is [V, V] and the logits are [B, T, V].
  TORCH_ARG(std::int64_t, vocab_size);
  /// Standard deviation of the zero-mean normal initialisation of the table (> 0).
  TORCH_ARG(double, init_std) = 0.02;
};

/// The module: logits[b, t, :] = table[tokens[b, t], :].
class BigramImpl : public torch::nn::Cloneable<BigramImpl> {
 public:
  explicit BigramImpl(BigramOptions options);
  /// (Re)creates the table, initialised from the global RNG.
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// @param tokens [B, T] int64. @return logits [B, T, V].
  at::Tensor forward(const at::Tensor& tokens);

  BigramOptions options;
  torch::nn::Embedding table{nullptr};  ///< weight [V, V]
};
TORCH_MODULE(Bigram);

/// Decoding state: a bigram needs no keys or values, only the count of tokens seen.
class BigramCache final : public KVCache {
 public:
  BigramCache(std::int64_t batch, std::int64_t max_len) : batch_(batch), max_len_(max_len) {}
  std::int64_t length() const override { return length_; }
  std::int64_t batch() const noexcept { return batch_; }
  std::int64_t max_len() const noexcept { return max_len_; }
  /// Records `count` more tokens.
  void advance(std::int64_t count) noexcept { length_ += count; }

 private:
  std::int64_t batch_;
  std::int64_t max_len_;
  std::int64_t length_ = 0;
};

/// The Model interface over a Bigram module.
class BigramModel final : public Model {
 public:
  /// Builds the table on context.device in context.param_dtype. Its initial values come from a
  /// CPU generator seeded from context.seed, so they do not depend on what else used the global
  /// RNG. Throws anvil::Error when vocab_size or init_std is not positive.
  BigramModel(BigramOptions options, const RunContext& context);

  torch::nn::Module& module() override { return *net_; }
  ModelOutput forward(const at::Tensor& tokens) override;
  /// None: the model is one table, not a stack of blocks.
  std::vector<std::shared_ptr<torch::nn::Module>> blocks() override { return {}; }
  std::int64_t vocab_size() const override { return net_->options.vocab_size(); }
  /// 0: a bigram has no positions and takes sequences of any length.
  std::int64_t max_seq_len() const override { return 0; }
  /// 6 * V: each token reads one row of V parameters (the 6N rule over active parameters; the
  /// lookup itself has no matmul, and there is no attention term).
  double flops_per_token(std::int64_t seq_len) const override;
  std::unique_ptr<KVCache> new_cache(std::int64_t batch, std::int64_t max_len) override;
  /// Logits of `tokens` [B, t] -> [B, t, V]; only the cache's length advances.
  at::Tensor decode(const at::Tensor& tokens, KVCache& cache) override;

  Bigram& net() noexcept { return net_; }

 private:
  Bigram net_{nullptr};
};

/// What the plugin's factory calls: V from context.vocab_size, which must be known (> 0).
std::unique_ptr<BigramModel> make_bigram_model(double init_std, const RunContext& context);

/// The memory of a bigram model of `query.vocab_size` tokens: the [V, V] table (a token uses
/// one row), no blocks, no cache; per token its row of float32 logits (a lookup, which
/// autocast leaves alone) and the cross-entropy's float32 log-probabilities and gradients.
ModelFootprint bigram_footprint(const FootprintQuery& query);

}  // namespace anvil::builtin
