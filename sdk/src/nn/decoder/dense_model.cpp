// The dense decoder and its Model interface (see dense_model.h).
#include <anvil/nn/decoder/dense_model.h>

#include <anvil/nn/decoder/activation_checkpoint.h>

#include <anvil/errors.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <string>

namespace anvil::nn {

DenseImpl::DenseImpl(DenseOptions options_) : options(options_) {
  check_dense_options(options);
  reset();
}

void DenseImpl::reset() {
  tok_embeddings =
      register_module("tok_embeddings", torch::nn::Embedding(options.vocab_size, options.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  blocks.clear();
  for (std::int64_t i = 0; i < options.n_layers; ++i) {
    blocks.emplace_back(options, i);
    layers->push_back(blocks.back());
  }
  norm = register_module("norm", RMSNorm(options.d_model, options.norm_eps));
  output = nullptr;
  if (!options.tie_embeddings)
    output = register_module(
        "output", torch::nn::Linear(
                      torch::nn::LinearOptions(options.d_model, options.vocab_size).bias(false)));
  mtp = make_mtp_modules(options);
  if (!mtp.empty()) {
    auto list = register_module("mtp", torch::nn::ModuleList());
    for (const MTPModule& module : mtp) list->push_back(module);
  }
}

void DenseImpl::initialize(at::Generator& generator) {
  init_decoder_parameters(*this, options.init_std, options.n_layers, generator);
}

at::Tensor DenseImpl::hidden_states(const at::Tensor& tokens, std::vector<LayerCache>* cache,
                                    std::int64_t offset) {
  return norm->forward(trunk(tokens, cache, offset));
}

at::Tensor DenseImpl::mtp_loss(const at::Tensor& trunk_output, const at::Tensor& tokens) {
  return nn::mtp_loss(
      mtp, trunk_output, tokens, [this](const at::Tensor& ids) { return tok_embeddings->forward(ids); },
      [this](const at::Tensor& h) { return logits(norm->forward(h)); }, options,
      is_training() && options.dropout > 0);
}

at::Tensor DenseImpl::trunk(const at::Tensor& tokens, std::vector<LayerCache>* cache,
                            std::int64_t offset) {
  ANVIL_CHECK(tokens.dim() == 2, options.architecture(), ": tokens must be [B, T], got ", tokens.sizes());
  const std::int64_t T = tokens.size(1);
  ANVIL_CHECK(offset + T <= options.max_seq_len, options.architecture(), ": positions up to ", offset + T,
              " exceed max_seq_len ", options.max_seq_len);
  const bool dropout = is_training() && cache == nullptr;
  const bool checkpointing =
      options.activation_checkpointing && dropout && at::GradMode::is_enabled();

  at::Tensor x = tok_embeddings->forward(tokens);
  x = at::dropout(x, options.dropout, dropout && options.dropout > 0);
  const RotaryTables rope =
      rotary_tables(options.rope_dim(), options.rope_base, offset, T, x.options());
  for (std::size_t i = 0; i < blocks.size(); ++i)
    x = run_dense_block(blocks[i], x, rope, dropout, checkpointing,
                        cache != nullptr ? &(*cache)[i] : nullptr, offset);
  return x;
}

at::Tensor run_dense_block(DenseBlock& block, const at::Tensor& x, const RotaryTables& rope,
                           bool dropout, bool checkpointing, LayerCache* cache,
                           std::int64_t offset) {
  if (!checkpointing) return block->forward(x, rope, dropout, cache, offset);
  std::shared_ptr<DenseBlockImpl> impl = block.ptr();
  return checkpoint(
      [impl, rope](const at::Tensor& input) { return impl->forward(input, rope, /*dropout=*/true); },
      x, impl->parameters());
}

at::Tensor DenseImpl::logits(const at::Tensor& hidden) {
  return options.tie_embeddings ? at::linear(hidden, tok_embeddings->weight)
                                : output->forward(hidden);
}

// ---------------------------------------------------------------------------------------------
// DenseModel

namespace {
bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

std::uint64_t decoder_init_seed(std::uint64_t run_seed) { return derive_seed(run_seed, /*initialisation=*/0); }

void init_decoder_parameters(torch::nn::Module& module, double init_std, std::int64_t n_layers,
                             at::Generator& generator) {
  at::NoGradGuard no_grad;
  const double residual_std = init_std / std::sqrt(2.0 * static_cast<double>(n_layers));
  // In registration order, so that a seed always gives the same weights.
  for (auto& item : module.named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& param = item.value();
    if (ends_with(name, "norm.weight"))
      param.fill_(1.0);
    else if (ends_with(name, "wo.weight") || ends_with(name, "w2.weight") ||
             ends_with(name, "experts.w2"))
      param.normal_(0.0, residual_std, generator);
    else
      param.normal_(0.0, init_std, generator);
  }
}

std::vector<LayerCache> dense_layer_caches(const DenseOptions& o, std::int64_t batch,
                                           std::int64_t max_len,
                                           const at::TensorOptions& tensor_options) {
  const auto slot = [&](std::int64_t heads) {
    return KVSlot{at::zeros({batch, heads, max_len, o.head_dim()}, tensor_options),
                  at::zeros({batch, heads, max_len, o.head_dim()}, tensor_options)};
  };
  std::vector<LayerCache> layers;
  for (std::int64_t i = 0; i < o.n_layers; ++i) {
    LayerCache layer;
    if (o.uses_mla())
      layer.latent = {at::zeros({batch, max_len, o.kv_lora_rank}, tensor_options),
                      at::zeros({batch, max_len, o.rope_dim()}, tensor_options)};
    else
      layer.attention = slot(o.kv_heads());
    if (o.local.has_global_branch(i)) layer.global = slot(o.local.global_heads);
    layers.push_back(std::move(layer));
  }
  return layers;
}

void require_vocab_size(const std::string& name, const RunContext& context) {
  if (context.vocab_size <= 0)
    throw Error("architecture '" + name +
                    "' needs the tokenizer's vocabulary size, but the run context has "
                    "vocab_size = " +
                    std::to_string(context.vocab_size),
                "build or load the tokenizer before the model, so the host can pass its "
                "vocab_size");
}

DenseModel::DenseModel(DenseOptions options, const RunContext& context)
    : net_(Dense(std::move(options))) {
  // Drawn on the CPU before the move, since a CPU generator can only fill CPU tensors.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(decoder_init_seed(context.seed));
  net_->initialize(generator);
  net_->to(context.device, context.param_dtype);
}

ModelOutput DenseModel::forward(const at::Tensor& tokens) {
  ModelOutput out;
  const at::Tensor trunk = net_->trunk(tokens);
  out.hidden = net_->norm->forward(trunk);
  out.logits = net_->logits(out.hidden);
  if (net_->is_training() && !net_->mtp.empty())
    out.aux_losses.emplace_back("mtp", net_->mtp_loss(trunk, tokens));
  return out;
}

std::vector<std::shared_ptr<torch::nn::Module>> DenseModel::blocks() {
  std::vector<std::shared_ptr<torch::nn::Module>> result;
  for (const DenseBlock& block : net_->blocks) result.push_back(block.ptr());
  return result;
}

double DenseModel::flops_per_token(std::int64_t seq_len) const {
  return dense_flops_per_token(net_->options, seq_len);
}

std::unique_ptr<KVCache> DenseModel::new_cache(std::int64_t batch, std::int64_t max_len) {
  const DenseOptions& o = net_->options;
  ANVIL_CHECK(batch > 0, o.architecture(), ": cache batch size must be positive, got ", batch);
  ANVIL_CHECK(max_len > 0 && max_len <= o.max_seq_len, o.architecture(), ": cache max_len must be in [1, ",
              o.max_seq_len, "] (max_seq_len), got ", max_len);
  return std::make_unique<DenseCache>(
      dense_layer_caches(o, batch, max_len, net_->tok_embeddings->weight.options()),
      batch, max_len);
}

at::Tensor DenseModel::decode(const at::Tensor& tokens, KVCache& cache) {
  auto* dense_cache = dynamic_cast<DenseCache*>(&cache);
  ANVIL_CHECK(dense_cache != nullptr, net_->options.architecture(),
              ": decode() needs a cache made by this model's new_cache()");
  check_decode_tokens(net_->options.architecture(), tokens, dense_cache->batch(), dense_cache->length(),
                      dense_cache->max_len());
  at::NoGradGuard no_grad;
  const at::Tensor hidden =
      net_->hidden_states(tokens, &dense_cache->slots(), dense_cache->length());
  dense_cache->advance(tokens.size(1));
  return net_->logits(hidden);
}

std::unique_ptr<DenseModel> make_dense_model(DenseOptions options, const RunContext& context) {
  require_vocab_size("dense", context);
  options.vocab_size = context.vocab_size;
  return std::make_unique<DenseModel>(std::move(options), context);
}

}  // namespace anvil::nn
