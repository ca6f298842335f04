#include "train/sampler.h"

#include "train/text_stream.h"
#include "train/token_choice.h"

#include <anvil/errors.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <chrono>
#include <optional>

namespace anvil::core {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The end-of-text token, if the tokenizer has one: generation stops there.
std::optional<std::int64_t> end_of_text(const Tokenizer& tokenizer) {
  for (const char* name : {"<|endoftext|>", "</s>", "<eos>"})
    if (auto id = tokenizer.token_to_id(name)) return *id;
  return std::nullopt;
}

}  // namespace

double Sample::decode_tokens_per_s() const {
  const double decode_seconds = seconds - prompt_seconds;
  return tokens.size() > 1 && decode_seconds > 0 ? static_cast<double>(tokens.size() - 1) / decode_seconds : 0;
}

Sample generate(Model& model, const Tokenizer& tokenizer, const SampleConfig& config,
                std::uint64_t seed, c10::Device device, const TextCallback& on_text, bool use_cache,
                const GenerationComponents& who) {
  const Clock::time_point start = Clock::now();
  const std::vector<std::int32_t> prompt =
      call_plugin(who.tokenizer, "encode", [&] { return tokenizer.encode(config.prompt); });
  if (prompt.empty()) throw Error("the prompt encodes to no tokens", "give a non-empty prompt");
  const auto prompt_len = static_cast<std::int64_t>(prompt.size());
  const std::int64_t limit = model.max_seq_len() > 0 ? model.max_seq_len() : prompt_len + config.max_new_tokens;
  if (prompt_len >= limit)
    throw Error("the prompt is " + std::to_string(prompt_len) + " tokens, the model takes at most " +
                    std::to_string(limit - 1) + " before generating",
                "shorten the prompt");
  const std::int64_t new_tokens = std::min(config.max_new_tokens, limit - prompt_len);

  at::NoGradGuard no_grad;
  const bool was_training = model.module().is_training();
  model.module().eval();
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const ChoiceOptions choice{config.temperature, config.top_k, config.top_p, config.repetition_penalty};
  const std::optional<std::int64_t> eos = config.stop_at_end_of_text ? end_of_text(tokenizer) : std::nullopt;
  TextStream stream(config.stop);

  std::vector<std::int64_t> ids(prompt.begin(), prompt.end());
  std::unique_ptr<KVCache> cache =
      use_cache ? call_plugin(who.model, "new_cache", [&] { return model.new_cache(1, prompt_len + new_tokens); })
                : nullptr;
  const auto next_logits = [&](std::int64_t fed) {
    if (!use_cache)
      return call_plugin(who.model, "forward", [&] {
        return model.forward(at::tensor(ids, at::kLong).reshape({1, -1}).to(device)).logits[0][-1];
      });
    const std::vector<std::int64_t> fresh(ids.end() - fed, ids.end());
    return call_plugin(who.model, "decode", [&] {
      return model.decode(at::tensor(fresh, at::kLong).reshape({1, -1}).to(device), *cache)[0][-1];
    });
  };

  Sample sample;
  sample.prompt_tokens = prompt_len;
  sample.stop_reason = new_tokens < config.max_new_tokens ? "context" : "length";
  at::Tensor logits = next_logits(prompt_len);
  for (std::int64_t i = 0; i < new_tokens; ++i) {
    const std::int64_t next = choose_token(logits, ids, choice, generator);
    if (i == 0) sample.prompt_seconds = seconds_between(start, Clock::now());
    if (eos && next == *eos) {
      sample.stop_reason = "end of text";
      break;
    }
    ids.push_back(next);
    sample.tokens.push_back(static_cast<std::int32_t>(next));
    if (stream.update(call_plugin(who.tokenizer, "decode", [&] { return tokenizer.decode(sample.tokens); })))
      sample.stop_reason = "stop string";
    if (on_text) {
      const std::string piece = stream.take();
      if (!piece.empty()) on_text(piece);
    }
    if (stream.stopped() || i + 1 == new_tokens) break;
    logits = next_logits(1);
  }
  if (on_text) {
    const std::string rest = stream.take(/*final=*/true);
    if (!rest.empty()) on_text(rest);
  }
  model.module().train(was_training);
  sample.text = stream.text();
  sample.seconds = seconds_between(start, Clock::now());
  return sample;
}

}  // namespace anvil::core
