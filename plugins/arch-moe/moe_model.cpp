// The MoE decoder and its Model interface (see moe_model.h).
#include "moe_model.h"

#include <anvil/nn/decoder/activation_checkpoint.h>

#include <anvil/errors.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include <string>

namespace anvil::builtin {

using nn::checkpoint;

nn::MoEOptions moe_layer_options(const MoEModelOptions& o) {
  nn::MoEOptions layer;
  layer.router.d_model = o.base.d_model;
  layer.router.n_experts = o.n_routed_experts;
  layer.router.top_k = o.top_k;
  layer.router.score = nn::parse_router_score(o.router_score);
  layer.router.normalize_top_k = o.normalize_top_k;
  layer.router.route_scale = o.route_scale;
  layer.router.n_groups = o.n_expert_groups;
  layer.router.top_k_groups = o.top_k_groups;
  layer.expert_hidden = o.expert_hidden;
  layer.n_shared_experts = o.n_shared_experts;
  layer.capacity_factor = o.capacity_factor;
  layer.balance_loss = nn::parse_balance_loss(o.balance_loss);
  layer.balance_loss_coef = o.balance_loss_coef;
  return layer;
}

MoEBlockImpl::MoEBlockImpl(const MoEModelOptions& options_) : options(options_) { reset(); }

void MoEBlockImpl::reset() {
  const DenseOptions& b = options.base;
  attention_norm = register_module("attention_norm", RMSNorm(b.d_model, b.norm_eps));
  attention = nullptr;
  latent_attention = nullptr;
  if (b.uses_mla())
    latent_attention =
        register_module("attention", nn::MultiHeadLatentAttention(latent_attention_options(b)));
  else
    attention = register_module("attention", nn::GroupedQueryAttention(attention_options(b)));
  ffn_norm = register_module("ffn_norm", RMSNorm(b.d_model, b.norm_eps));
  feed_forward = register_module("feed_forward", nn::MoEFeedForward(moe_layer_options(options)));
}

nn::MoEOutput MoEBlockImpl::forward(const at::Tensor& x, const RotaryTables& rope, bool dropout,
                                    LayerCache* cache, std::int64_t offset) {
  const double p = options.base.dropout;
  const bool drop = dropout && p > 0;
  nn::GroupedQueryAttention no_global{nullptr};
  const at::Tensor h = x + at::dropout(attend(attention, latent_attention, no_global,
                                              attention_norm->forward(x), rope, cache, offset),
                                       p, drop);
  nn::MoEOutput moe = feed_forward->forward(ffn_norm->forward(h));
  moe.output = h + at::dropout(moe.output, p, drop);
  return moe;
}

MoEImpl::MoEImpl(MoEModelOptions options_) : options(std::move(options_)) {
  check_moe_options(options);
  reset();
}

void MoEImpl::reset() {
  const DenseOptions& b = options.base;
  tok_embeddings = register_module("tok_embeddings", torch::nn::Embedding(b.vocab_size, b.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  dense_blocks.clear();
  moe_blocks.clear();
  for (std::int64_t i = 0; i < b.n_layers; ++i) {
    if (i < options.n_dense_layers) {
      dense_blocks.emplace_back(b, i);
      layers->push_back(dense_blocks.back());
    } else {
      moe_blocks.emplace_back(options);
      layers->push_back(moe_blocks.back());
    }
  }
  norm = register_module("norm", RMSNorm(b.d_model, b.norm_eps));
  output = nullptr;
  if (!b.tie_embeddings)
    output = register_module(
        "output", torch::nn::Linear(torch::nn::LinearOptions(b.d_model, b.vocab_size).bias(false)));
  mtp = make_mtp_modules(b);
  if (!mtp.empty()) {
    auto list = register_module("mtp", torch::nn::ModuleList());
    for (const MTPModule& module : mtp) list->push_back(module);
  }
}

at::Tensor MoEImpl::mtp_loss(const at::Tensor& trunk, const at::Tensor& tokens) {
  return nn::mtp_loss(
      mtp, trunk, tokens, [this](const at::Tensor& ids) { return tok_embeddings->forward(ids); },
      [this](const at::Tensor& h) { return logits(norm->forward(h)); }, options.base,
      is_training() && options.base.dropout > 0);
}

void MoEImpl::initialize(at::Generator& generator) {
  init_decoder_parameters(*this, options.base.init_std, options.base.n_layers, generator);
}

namespace {

// An MoE block under activation checkpointing. checkpoint() carries one tensor, so the block's
// output, balance loss, load and dropped count travel packed into one vector, in the output's
// dtype promoted to float32 at least (so that the loss is not rounded to bf16).
nn::MoEOutput checkpointed_moe_block(const std::shared_ptr<MoEBlockImpl>& block,
                                     const at::Tensor& x, const RotaryTables& rope) {
  const std::int64_t E = block->options.n_routed_experts;
  const at::Tensor packed = checkpoint(
      [block, rope](const at::Tensor& input) {
        const nn::MoEOutput out = block->forward(input, rope, /*dropout=*/true);
        const at::TensorOptions packed_options =
            input.options().dtype(at::promote_types(out.output.scalar_type(), at::kFloat));
        const at::Tensor aux = out.aux_loss.defined() ? out.aux_loss : at::zeros({}, packed_options);
        return at::cat({out.output.reshape({-1}).to(packed_options.dtype()),
                        aux.reshape({1}).to(packed_options.dtype()), out.load.to(packed_options.dtype()),
                        at::full({1}, static_cast<double>(out.dropped), packed_options)});
      },
      x, block->parameters());
  const std::int64_t n = x.numel();
  nn::MoEOutput out;
  out.output = packed.narrow(0, 0, n).view(x.sizes()).to(x.scalar_type());
  out.aux_loss = packed.narrow(0, n, 1).reshape({});
  out.load = packed.narrow(0, n + 1, E).detach().to(at::kFloat);
  out.dropped = static_cast<std::int64_t>(packed[n + 1 + E].item<double>());
  return out;
}

}  // namespace

MoEHidden MoEImpl::hidden_states(const at::Tensor& tokens, std::vector<LayerCache>* cache,
                                 std::int64_t offset) {
  const DenseOptions& b = options.base;
  ANVIL_CHECK(tokens.dim() == 2, "moe: tokens must be [B, T], got ", tokens.sizes());
  const std::int64_t T = tokens.size(1);
  ANVIL_CHECK(offset + T <= b.max_seq_len, "moe: positions up to ", offset + T,
              " exceed max_seq_len ", b.max_seq_len);
  const bool dropout = is_training() && cache == nullptr;
  const bool checkpointing = b.activation_checkpointing && dropout && at::GradMode::is_enabled();

  MoEHidden result;
  at::Tensor x = tok_embeddings->forward(tokens);
  x = at::dropout(x, b.dropout, dropout && b.dropout > 0);
  const RotaryTables rope = rotary_tables(b.rope_dim(), b.rope_base, offset, T, x.options());
  for (std::size_t i = 0; i < dense_blocks.size(); ++i)
    x = run_dense_block(dense_blocks[i], x, rope, dropout, checkpointing,
                        cache != nullptr ? &(*cache)[i] : nullptr, offset);
  for (std::size_t j = 0; j < moe_blocks.size(); ++j) {
    LayerCache* slot = cache != nullptr ? &(*cache)[dense_blocks.size() + j] : nullptr;
    nn::MoEOutput out = checkpointing ? checkpointed_moe_block(moe_blocks[j].ptr(), x, rope)
                                      : moe_blocks[j]->forward(x, rope, dropout, slot, offset);
    x = out.output;
    if (out.aux_loss.defined())
      result.aux_loss = result.aux_loss.defined() ? result.aux_loss + out.aux_loss : out.aux_loss;
    result.loads.push_back(out.load);
    result.dropped += out.dropped;
  }
  result.trunk = x;
  result.hidden = norm->forward(x);
  return result;
}

at::Tensor MoEImpl::logits(const at::Tensor& hidden) {
  return options.base.tie_embeddings ? at::linear(hidden, tok_embeddings->weight)
                                     : output->forward(hidden);
}

// ---------------------------------------------------------------------------------------------
// MoEModel

MoEModel::MoEModel(MoEModelOptions options, const RunContext& context)
    : net_(MoE(std::move(options))) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(decoder_init_seed(context.seed));
  net_->initialize(generator);
  net_->to(context.device, context.param_dtype);
  // The selection bias stays float32 (a bf16 bias could not move by small steps).
  for (MoEBlock& block : net_->moe_blocks) {
    nn::TopKRouterImpl& router = *block->feed_forward->router;
    router.expert_bias.set_data(router.expert_bias.to(at::kFloat));
  }
}

ModelOutput MoEModel::forward(const at::Tensor& tokens) {
  MoEHidden hidden = net_->hidden_states(tokens);
  ModelOutput out;
  out.hidden = hidden.hidden;
  out.logits = net_->logits(hidden.hidden);
  if (hidden.aux_loss.defined()) out.aux_losses.emplace_back("moe_balance", hidden.aux_loss);
  if (net_->is_training() && !net_->mtp.empty())
    out.aux_losses.emplace_back("mtp", net_->mtp_loss(hidden.trunk, tokens));
  if (net_->is_training() && at::GradMode::is_enabled()) {
    if (step_loads_.empty()) {
      step_loads_ = hidden.loads;
    } else {
      for (std::size_t i = 0; i < step_loads_.size(); ++i) step_loads_[i] = step_loads_[i] + hidden.loads[i];
    }
    step_dropped_ += hidden.dropped;
    step_tokens_ += tokens.numel();
  }
  return out;
}

std::vector<std::shared_ptr<torch::nn::Module>> MoEModel::blocks() {
  std::vector<std::shared_ptr<torch::nn::Module>> result;
  for (const DenseBlock& block : net_->dense_blocks) result.push_back(block.ptr());
  for (const MoEBlock& block : net_->moe_blocks) result.push_back(block.ptr());
  return result;
}

double MoEModel::flops_per_token(std::int64_t seq_len) const {
  return moe_flops_per_token(net_->options, seq_len);
}

std::unique_ptr<KVCache> MoEModel::new_cache(std::int64_t batch, std::int64_t max_len) {
  const DenseOptions& o = net_->options.base;
  ANVIL_CHECK(batch > 0, "moe: cache batch size must be positive, got ", batch);
  ANVIL_CHECK(max_len > 0 && max_len <= o.max_seq_len, "moe: cache max_len must be in [1, ",
              o.max_seq_len, "] (max_seq_len), got ", max_len);
  return std::make_unique<DenseCache>(
      dense_layer_caches(o, batch, max_len, net_->tok_embeddings->weight.options()), batch, max_len);
}

at::Tensor MoEModel::decode(const at::Tensor& tokens, KVCache& cache) {
  auto* kv = dynamic_cast<DenseCache*>(&cache);
  ANVIL_CHECK(kv != nullptr, "moe: decode() needs a cache made by this model's new_cache()");
  check_decode_tokens("moe", tokens, kv->batch(), kv->length(), kv->max_len());
  at::NoGradGuard no_grad;
  const MoEHidden hidden = net_->hidden_states(tokens, &kv->slots(), kv->length());
  kv->advance(tokens.size(1));
  return net_->logits(hidden.hidden);
}

Metrics MoEModel::end_step(bool updated) {
  Metrics metrics;
  if (step_loads_.empty()) return metrics;
  const MoEModelOptions& o = net_->options;
  const at::Tensor loads = at::stack(step_loads_);  // [moe layers, E]
  if (updated && o.bias_update_speed > 0)
    for (std::size_t j = 0; j < net_->moe_blocks.size(); ++j)
      net_->moe_blocks[j]->feed_forward->router->update_expert_bias(
          loads[static_cast<std::int64_t>(j)], o.bias_update_speed);

  const at::Tensor host = loads.to(at::kCPU, at::kDouble);
  const at::Tensor imbalance = std::get<0>(host.max(1)) / host.mean(1).clamp_min(1e-12);
  metrics.push_back({"moe.imbalance", imbalance.mean().item<double>()});
  metrics.push_back({"moe.imbalance_max", imbalance.max().item<double>()});
  for (std::int64_t j = 0; j < imbalance.size(0); ++j)
    metrics.push_back({"moe.layer" + std::to_string(o.n_dense_layers + j) + ".imbalance",
                       imbalance[j].item<double>()});
  const at::Tensor share = (host / host.sum(1, true).clamp_min(1e-12)).mean(0);
  for (std::int64_t e = 0; e < share.size(0); ++e)
    metrics.push_back({"moe.load.e" + std::to_string(e), share[e].item<double>()});
  if (o.capacity_factor > 0 && step_tokens_ > 0)
    metrics.push_back({"moe.dropped", static_cast<double>(step_dropped_) /
                                          static_cast<double>(step_tokens_ * o.top_k *
                                                              o.n_moe_layers())});
  step_loads_.clear();
  step_dropped_ = step_tokens_ = 0;
  return metrics;
}

std::unique_ptr<MoEModel> make_moe_model(MoEModelOptions options, const RunContext& context) {
  require_vocab_size("moe", context);
  options.base.vocab_size = context.vocab_size;
  return std::make_unique<MoEModel>(std::move(options), context);
}

}  // namespace anvil::builtin
