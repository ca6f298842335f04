#pragma once
// Choosing the next token from a model's logits: repetition penalty, temperature, top-k and
// top-p (nucleus) filtering, then a seeded draw; greedy at temperature 0.

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace anvil::core {

struct ChoiceOptions {
  double temperature = 0.8;         ///< 0 = greedy (argmax)
  std::int64_t top_k = 40;          ///< keep the k most likely tokens; 0 = all
  double top_p = 1.0;               ///< keep the fewest most likely tokens whose mass reaches p; 1 = all
  double repetition_penalty = 1.0;  ///< > 1 discourages tokens already in `history` (CTRL's rule)
};

/// Applies the repetition penalty to `logits` [V] (float, CPU) in place: the logit of every
/// token in `history` is divided by `penalty` when positive and multiplied when negative.
void penalize_repetition(at::Tensor& logits, const std::vector<std::int64_t>& history, double penalty);

/// The next token id from the last position's `logits` [V].
std::int64_t choose_token(const at::Tensor& logits, const std::vector<std::int64_t>& history,
                          const ChoiceOptions& options, at::Generator& generator);

}  // namespace anvil::core
