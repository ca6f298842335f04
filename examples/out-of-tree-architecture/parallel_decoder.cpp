// The "parallel" architecture: a decoder whose blocks run attention and the MLP side by side
// on one normalised input and add both to the residual stream (GPT-J, PaLM):
//
//   y = x + attention(norm(x)) + mlp(norm(x))
//
// instead of the dense decoder's two sequential sub-layers. Everything it is made of comes
// from the installed SDK: the options binding (<anvil/option_binding.h>), the layers
// (<anvil/nn/...>: RMSNorm, grouped-query attention with rotary positions and a key/value
// cache, SwiGLU), the decoder's initialisation and FLOP count (<anvil/nn/decoder/...>).
#include <anvil/model.h>
#include <anvil/nn/attention.h>
#include <anvil/nn/decoder/dense_model.h>
#include <anvil/nn/decoder/dense_options.h>
#include <anvil/nn/mlp.h>
#include <anvil/nn/norm.h>
#include <anvil/nn/rotary.h>
#include <anvil/option_binding.h>
#include <anvil/plugin.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>

#include <memory>
#include <utility>
#include <vector>

namespace {

/// The manifest keys of [model], each declared once (name, member, documentation, range).
anvil::OptionBinding<anvil::nn::DenseOptions> parallel_binding() {
  using anvil::nn::DenseOptions;
  anvil::OptionBinding<DenseOptions> b;
  b.bind("d_model", &DenseOptions::d_model, "width of the residual stream").min(8);
  b.bind("n_layers", &DenseOptions::n_layers, "number of parallel blocks").min(1);
  b.bind("n_heads", &DenseOptions::n_heads, "attention heads; must divide d_model").min(1);
  b.bind("ffn_hidden", &DenseOptions::ffn_hidden, "SwiGLU width (0 = 8/3 d_model, rounded up to 64)").min(0);
  b.bind("max_seq_len", &DenseOptions::max_seq_len, "longest sequence").min(1);
  b.bind("init_std", &DenseOptions::init_std, "std of the normal initialisation").min(0.0);
  return b;
}

/// One block: a shared norm, then attention and MLP on the same input.
class ParallelBlockImpl : public torch::nn::Cloneable<ParallelBlockImpl> {
 public:
  explicit ParallelBlockImpl(const anvil::nn::DenseOptions& o) : options(o) { reset(); }
  void reset() override {
    anvil::nn::AttentionOptions a;
    a.d_model = options.d_model;
    a.n_heads = options.n_heads;
    norm = register_module("norm", anvil::nn::RMSNorm(options.d_model, options.norm_eps));
    attention = register_module("attention", anvil::nn::GroupedQueryAttention(a));
    feed_forward = register_module("feed_forward", anvil::nn::SwiGLU(options.d_model, options.ffn_width()));
  }
  at::Tensor forward(const at::Tensor& x, const anvil::nn::RotaryTables& rope,
                     anvil::nn::KVSlot* cache, std::int64_t offset) {
    const at::Tensor h = norm->forward(x);
    return x + attention->forward(h, rope, cache, offset) + feed_forward->forward(h);
  }

  anvil::nn::DenseOptions options;
  anvil::nn::RMSNorm norm{nullptr};
  anvil::nn::GroupedQueryAttention attention{nullptr};
  anvil::nn::SwiGLU feed_forward{nullptr};
};
TORCH_MODULE(ParallelBlock);

/// Every parameter: embedding (tied to the output head), blocks, final norm.
class ParallelNetImpl : public torch::nn::Cloneable<ParallelNetImpl> {
 public:
  explicit ParallelNetImpl(const anvil::nn::DenseOptions& o) : options(o) { reset(); }
  void reset() override {
    embedding = register_module("tok_embeddings", torch::nn::Embedding(options.vocab_size, options.d_model));
    layers = register_module("layers", torch::nn::ModuleList());
    blocks.clear();
    for (std::int64_t i = 0; i < options.n_layers; ++i) {
      blocks.emplace_back(options);
      layers->push_back(blocks.back());
    }
    norm = register_module("norm", anvil::nn::RMSNorm(options.d_model, options.norm_eps));
  }
  /// Logits [B, T, V] of `tokens` [B, T] at positions offset..; with `cache`, one slot per block.
  at::Tensor forward(const at::Tensor& tokens, std::vector<anvil::nn::KVSlot>* cache, std::int64_t offset) {
    const std::int64_t T = tokens.size(1);
    ANVIL_CHECK(offset + T <= options.max_seq_len, "parallel: positions up to ", offset + T,
                " exceed max_seq_len ", options.max_seq_len);
    at::Tensor x = embedding->forward(tokens);
    const auto rope = anvil::nn::rotary_tables(options.head_dim(), options.rope_base, offset, T, x.options());
    for (std::size_t i = 0; i < blocks.size(); ++i)
      x = blocks[i]->forward(x, rope, cache != nullptr ? &(*cache)[i] : nullptr, offset);
    return at::linear(norm->forward(x), embedding->weight);
  }

  anvil::nn::DenseOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::ModuleList layers{nullptr};
  std::vector<ParallelBlock> blocks;
  anvil::nn::RMSNorm norm{nullptr};
};
TORCH_MODULE(ParallelNet);

class ParallelCache final : public anvil::KVCache {
 public:
  ParallelCache(std::vector<anvil::nn::KVSlot> slots, std::int64_t batch, std::int64_t max_len)
      : slots(std::move(slots)), batch(batch), max_len(max_len) {}
  std::int64_t length() const override { return filled; }
  std::vector<anvil::nn::KVSlot> slots;
  std::int64_t batch;
  std::int64_t max_len;
  std::int64_t filled = 0;
};

class ParallelModel final : public anvil::Model {
 public:
  ParallelModel(anvil::nn::DenseOptions options, const anvil::RunContext& context)
      : net_(std::move(options)) {
    // The seed, the initialisation (scaled residual writes: "wo" and "w2") and the placement
    // follow the built-in decoders, so a run is reproducible from its manifest.
    at::Generator generator =
        at::make_generator<at::CPUGeneratorImpl>(anvil::nn::decoder_init_seed(context.seed));
    anvil::nn::init_decoder_parameters(*net_, net_->options.init_std, net_->options.n_layers, generator);
    net_->to(context.device, context.param_dtype);
  }
  torch::nn::Module& module() override { return *net_; }
  anvil::ModelOutput forward(const at::Tensor& tokens) override {
    anvil::ModelOutput out;
    out.logits = net_->forward(tokens, nullptr, 0);
    return out;
  }
  std::vector<std::shared_ptr<torch::nn::Module>> blocks() override {
    std::vector<std::shared_ptr<torch::nn::Module>> out;
    for (const ParallelBlock& block : net_->blocks) out.push_back(block.ptr());
    return out;
  }
  std::int64_t vocab_size() const override { return net_->options.vocab_size; }
  std::int64_t max_seq_len() const override { return net_->options.max_seq_len; }
  // The same matmuls and attention as a dense block of the same widths.
  double flops_per_token(std::int64_t seq_len) const override {
    return anvil::nn::dense_flops_per_token(net_->options, seq_len);
  }
  std::unique_ptr<anvil::KVCache> new_cache(std::int64_t batch, std::int64_t max_len) override {
    const auto& o = net_->options;
    ANVIL_CHECK(max_len > 0 && max_len <= o.max_seq_len, "parallel: cache max_len must be in [1, ",
                o.max_seq_len, "], got ", max_len);
    const auto tensor_options = net_->embedding->weight.options();
    std::vector<anvil::nn::KVSlot> slots;
    for (std::int64_t i = 0; i < o.n_layers; ++i)
      slots.push_back({at::zeros({batch, o.kv_heads(), max_len, o.head_dim()}, tensor_options),
                       at::zeros({batch, o.kv_heads(), max_len, o.head_dim()}, tensor_options)});
    return std::make_unique<ParallelCache>(std::move(slots), batch, max_len);
  }
  at::Tensor decode(const at::Tensor& tokens, anvil::KVCache& cache) override {
    auto* c = dynamic_cast<ParallelCache*>(&cache);
    ANVIL_CHECK(c != nullptr, "parallel: decode needs a cache from this model's new_cache()");
    anvil::check_decode_tokens("parallel", tokens, c->batch, c->filled, c->max_len);
    at::NoGradGuard no_grad;
    at::Tensor logits = net_->forward(tokens, &c->slots, c->filled);
    c->filled += tokens.size(1);
    return logits;
  }

 private:
  ParallelNet net_{nullptr};
};

void register_components(anvil::Registry& registry) {
  const auto binding = parallel_binding();
  registry.add<anvil::Model>(
      "parallel", "decoder with parallel attention and MLP blocks (GPT-J, PaLM)", binding.schema(),
      [binding](const anvil::Options& options, const anvil::RunContext& context) -> std::unique_ptr<anvil::Model> {
        anvil::nn::DenseOptions o = binding.read(options);
        options.diagnostics().throw_if_any();
        anvil::nn::require_vocab_size("parallel", context);
        o.vocab_size = context.vocab_size;
        anvil::nn::check_dense_options(o);  // heads dividing d_model, an even head width
        return std::make_unique<ParallelModel>(std::move(o), context);
      });
}

}  // namespace

ANVIL_PLUGIN("arch-parallel", "1.0.0", "Decoder with parallel attention and MLP blocks", "MIT",
             register_components)
