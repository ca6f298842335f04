#pragma once
// Text from a trained model: the prompt's tokens, then one token at a time, each chosen from the
// last position's logits (token_choice.h), through the architecture's KV-cache decode step or,
// for comparison, a full forward pass over the whole sequence per token. Stops at
// max_new_tokens, a stop string, the end-of-text token, or the model's context length.

#include "train/train_config.h"

#include <anvil/model.h>
#include <anvil/tokenizer.h>

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/plugin_call.h"

namespace anvil::core {

struct Sample {
  std::string text;                   ///< the generated continuation (without the prompt), cut before a stop string
  std::vector<std::int32_t> tokens;   ///< its tokens
  std::int64_t prompt_tokens = 0;
  double seconds = 0;                 ///< time spent generating, prompt included
  double prompt_seconds = 0;          ///< of which processing the prompt (time to the first token)
  std::string stop_reason;            ///< "length", "stop string", "end of text" or "context"
  /// Tokens generated per second after the first one (decode speed).
  double decode_tokens_per_s() const;
};

/// Called with each new piece of text as soon as it is safe to show (whole UTF-8 characters,
/// nothing that may turn into a stop string).
using TextCallback = std::function<void(std::string_view)>;

/// Continues `config.prompt` by up to config.max_new_tokens tokens. Seeded: the same model,
/// prompt and seed give the same text. `use_cache` false recomputes the whole sequence for
/// every token (the reference the KV cache must match). Throws anvil::Error when the prompt
/// encodes to no tokens or is longer than the model allows.
/// Who the model's and the tokenizer's errors name.
struct GenerationComponents {
  ComponentIdentity model{ComponentKind::architecture};
  ComponentIdentity tokenizer{ComponentKind::tokenizer};
};

Sample generate(Model& model, const Tokenizer& tokenizer, const SampleConfig& config,
                std::uint64_t seed, c10::Device device, const TextCallback& on_text = {},
                bool use_cache = true, const GenerationComponents& who = {});

}  // namespace anvil::core
