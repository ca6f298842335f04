#pragma once
/// @file perplexity_evaluator.h
/// The "perplexity" evaluator: mean next-token cross-entropy of the model on the eval set.
///
/// Over all counted target positions (target != -100, the trainer's ignore value) of the
/// batches evaluated (all, or the first max_batches):
///   loss          = total_nats / tokens                 (mean nats per token)
///   perplexity    = exp(loss)
///   tokens        = number of counted positions
///   bits_per_byte = total_nats / ln(2) / total_bytes    (with bytes_per_token or a tokenizer)
/// where total_bytes is tokens * EvalInput::bytes_per_token when the host knows the source
/// text's size (a prepared dataset does), else the sum, over every row of every batch, of the
/// byte length of tokenizer->decode(the row's counted target ids, in order). Decoding per row
/// treats each row as one contiguous span of text, which is what the data loader cuts.
/// Logits in half or bfloat16 are upcast to float32 for the cross-entropy.

#include <anvil/evaluator.h>

#include <cstdint>

namespace anvil::builtin {

/// Options of the perplexity evaluator (the manifest keys of the same names).
struct PerplexityOptions {
  std::int64_t max_batches = 100;  ///< batches to evaluate; 0 = all
};

class PerplexityEvaluator final : public Evaluator {
 public:
  /// Throws anvil::Error when max_batches is negative.
  explicit PerplexityEvaluator(PerplexityOptions options);
  /// Throws anvil::DataError when the evaluated batches hold no counted target.
  Metrics evaluate(EvalInput& input) override;

 private:
  PerplexityOptions options_;
};

}  // namespace anvil::builtin
