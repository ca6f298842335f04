// The bigram model (see bigram_model.h).
#include "bigram_model.h"

#include <anvil/errors.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <string>

namespace anvil::builtin {

BigramImpl::BigramImpl(BigramOptions options_) : options(std::move(options_)) { reset(); }

void BigramImpl::reset() {
  ANVIL_CHECK(options.vocab_size() > 0, "bigram: vocab_size must be positive, got ",
              options.vocab_size());
  ANVIL_CHECK(options.init_std() > 0, "bigram: init_std must be positive, got ",
              options.init_std());
  table =
      register_module("table", torch::nn::Embedding(options.vocab_size(), options.vocab_size()));
  at::NoGradGuard no_grad;
  table->weight.normal_(0.0, options.init_std());
}

void BigramImpl::pretty_print(std::ostream& stream) const {
  stream << "anvil::Bigram(vocab_size=" << options.vocab_size()
         << ", init_std=" << options.init_std() << ")";
}

at::Tensor BigramImpl::forward(const at::Tensor& tokens) {
  ANVIL_CHECK(tokens.dim() == 2, "bigram: tokens must be [B, T], got ", tokens.sizes());
  return table(tokens);  // [B, T] -> [B, T, V]
}

BigramModel::BigramModel(BigramOptions options, const RunContext& context) {
  if (options.vocab_size() <= 0)
    throw Error("bigram: vocab_size must be positive, got " + std::to_string(options.vocab_size()));
  if (!(options.init_std() > 0))
    throw Error("bigram: init_std must be positive, got " + std::to_string(options.init_std()));
  net_ = Bigram(options);
  {
    // Re-draw the table from a seeded CPU generator (before moving it to the device, since
    // a CPU generator can only fill CPU tensors).
    at::NoGradGuard no_grad;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(derive_seed(context.seed, /*initialisation=*/0));
    net_->table->weight.normal_(0.0, options.init_std(), generator);
  }
  net_->to(context.device, context.param_dtype);
}

ModelOutput BigramModel::forward(const at::Tensor& tokens) {
  ModelOutput out;
  out.logits = net_->forward(tokens);  // [B, T, V]
  return out;
}

double BigramModel::flops_per_token(std::int64_t) const {
  return 6.0 * static_cast<double>(vocab_size());
}

std::unique_ptr<KVCache> BigramModel::new_cache(std::int64_t batch, std::int64_t max_len) {
  ANVIL_CHECK(batch > 0, "bigram: cache batch size must be positive, got ", batch);
  ANVIL_CHECK(max_len > 0, "bigram: cache max_len must be positive, got ", max_len);
  return std::make_unique<BigramCache>(batch, max_len);
}

at::Tensor BigramModel::decode(const at::Tensor& tokens, KVCache& cache) {
  auto* bigram_cache = dynamic_cast<BigramCache*>(&cache);
  ANVIL_CHECK(bigram_cache != nullptr,
              "bigram: decode() needs a cache made by this model's new_cache()");
  check_decode_tokens("bigram", tokens, bigram_cache->batch(), bigram_cache->length(),
                      bigram_cache->max_len());
  // The logits of a token depend on that token alone, so they equal the full pass's.
  at::Tensor logits = net_->forward(tokens);  // [B, t, V]
  bigram_cache->advance(tokens.size(1));
  return logits;
}

std::unique_ptr<BigramModel> make_bigram_model(double init_std, const RunContext& context) {
  if (context.vocab_size <= 0)
    throw Error(
        "architecture 'bigram' needs the tokenizer's vocabulary size, but the run "
        "context has vocab_size = " +
            std::to_string(context.vocab_size),
        "build or load the tokenizer before the model, so the host can pass its vocab_size");
  return std::make_unique<BigramModel>(BigramOptions(context.vocab_size).init_std(init_std),
                                       context);
}

ModelFootprint bigram_footprint(const FootprintQuery& query) {
  const std::int64_t V = query.vocab_size;
  ModelFootprint f;
  f.parameters = V * V;
  f.active_parameters = V;
  f.activations.push_back({"output head and loss", 4.0 * 4.0 * static_cast<double>(V)});
  return f;
}

}  // namespace anvil::builtin
