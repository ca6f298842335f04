#pragma once
// Text from a trained model: the prompt's tokens, then one token at a time through the
// architecture's KV-cache decode step, picked greedily or by top-k sampling with temperature.

#include "train/train_config.h"

#include <anvil/model.h>
#include <anvil/tokenizer.h>

#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

namespace anvil::core {

struct Sample {
  std::string text;                   ///< the generated continuation (without the prompt)
  std::vector<std::int32_t> tokens;   ///< its tokens
  double seconds = 0;                 ///< time spent generating
};

/// Continues `config.prompt` by up to config.max_new_tokens tokens (fewer when the model's
/// max_seq_len is reached). Seeded: the same model, prompt and seed give the same text.
/// Throws anvil::Error when the prompt encodes to no tokens or is longer than the model allows.
Sample generate(Model& model, const Tokenizer& tokenizer, const SampleConfig& config,
                std::uint64_t seed, c10::Device device);

}  // namespace anvil::core
