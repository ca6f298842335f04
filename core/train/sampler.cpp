#include "train/sampler.h"

#include <anvil/errors.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <chrono>

namespace anvil::core {
namespace {

// The next token from the last position's logits [V].
std::int64_t pick(const at::Tensor& logits, const SampleConfig& config, at::Generator& generator) {
  const at::Tensor scores = logits.to(at::kCPU, at::kFloat);
  if (config.temperature <= 0) return scores.argmax().item<std::int64_t>();
  at::Tensor candidates = scores.div(config.temperature);
  at::Tensor ids;
  if (config.top_k > 0 && config.top_k < candidates.size(0)) {
    auto [values, indices] = candidates.topk(config.top_k);
    candidates = values;
    ids = indices;
  }
  const at::Tensor probs = candidates.softmax(0);
  const std::int64_t choice = at::multinomial(probs, 1, false, generator).item<std::int64_t>();
  return ids.defined() ? ids[choice].item<std::int64_t>() : choice;
}

}  // namespace

Sample generate(Model& model, const Tokenizer& tokenizer, const SampleConfig& config,
                std::uint64_t seed, c10::Device device) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::int32_t> prompt = tokenizer.encode(config.prompt);
  if (prompt.empty()) throw Error("[sample] prompt encodes to no tokens", "give a non-empty prompt");
  const std::int64_t limit = model.max_seq_len() > 0 ? model.max_seq_len() : prompt.size() + config.max_new_tokens;
  const auto prompt_len = static_cast<std::int64_t>(prompt.size());
  if (prompt_len >= limit)
    throw Error("[sample] prompt is " + std::to_string(prompt_len) + " tokens, the model takes at most " +
                    std::to_string(limit - 1) + " before generating",
                "shorten the prompt");
  const std::int64_t new_tokens = std::min(config.max_new_tokens, limit - prompt_len);

  at::NoGradGuard no_grad;
  const bool was_training = model.module().is_training();
  model.module().eval();
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::unique_ptr<KVCache> cache = model.new_cache(1, prompt_len + new_tokens);

  std::vector<std::int64_t> ids(prompt.begin(), prompt.end());
  at::Tensor logits = model.decode(at::tensor(ids, at::kLong).reshape({1, -1}).to(device), *cache);
  Sample sample;
  for (std::int64_t i = 0; i < new_tokens; ++i) {
    const std::int64_t next = pick(logits[0][-1], config, generator);
    sample.tokens.push_back(static_cast<std::int32_t>(next));
    if (i + 1 == new_tokens) break;
    logits = model.decode(at::full({1, 1}, next, at::kLong).to(device), *cache);
  }
  model.module().train(was_training);
  sample.text = tokenizer.decode(sample.tokens);
  sample.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sample;
}

}  // namespace anvil::core
