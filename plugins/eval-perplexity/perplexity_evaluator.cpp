// The perplexity evaluator (see perplexity_evaluator.h for the metric definitions).
#include "perplexity_evaluator.h"

#include <anvil/errors.h>
#include <anvil/model.h>
#include <anvil/tokenizer.h>

#include <ATen/core/Reduction.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cross_entropy_loss.h>

#include <cmath>
#include <string>
#include <vector>

namespace anvil::builtin {

namespace {
constexpr std::int64_t kIgnoreIndex = -100;  // what the data loader writes for masked targets
}

PerplexityEvaluator::PerplexityEvaluator(PerplexityOptions options) : options_(options) {
  if (options_.max_batches < 0)
    throw Error("perplexity: max_batches must be >= 0, got " +
                std::to_string(options_.max_batches));
}

Metrics PerplexityEvaluator::evaluate(EvalInput& input) {
  at::NoGradGuard no_grad;
  input.data.reset();

  double total_nats = 0;
  std::int64_t tokens = 0;
  std::int64_t bytes = 0;
  std::int64_t batches = 0;
  Batch batch;
  while ((options_.max_batches == 0 || batches < options_.max_batches) && input.data.next(batch)) {
    ++batches;
    const at::Tensor logits = input.model.forward(batch.input).logits;  // [B, T, V]
    ANVIL_CHECK(logits.dim() == 3, "perplexity: the model returned logits of shape ",
                logits.sizes(), ", expected [B, T, V]");
    ANVIL_CHECK(batch.target.dim() == 2 && batch.target.size(0) == logits.size(0) &&
                    batch.target.size(1) == logits.size(1),
                "perplexity: target shape ", batch.target.sizes(), " does not match logits ",
                logits.sizes());
    at::Tensor x = logits.reshape({-1, logits.size(2)});  // [N, V]
    if (x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16) x = x.to(at::kFloat);
    const at::Tensor y = batch.target.reshape({-1});  // [N]
    total_nats += at::cross_entropy_loss(x, y, /*weight=*/{}, at::Reduction::Sum, kIgnoreIndex)
                      .item<double>();
    tokens += y.ne(kIgnoreIndex).sum().item<std::int64_t>();

    if (input.tokenizer && input.bytes_per_token <= 0) {
      const at::Tensor target = batch.target.to(at::kCPU, at::kLong).contiguous();  // [B, T]
      const std::int64_t rows = target.size(0), cols = target.size(1);
      const std::int64_t* data = target.data_ptr<std::int64_t>();
      std::vector<std::int32_t> ids;
      for (std::int64_t r = 0; r < rows; ++r) {
        ids.clear();
        for (std::int64_t c = 0; c < cols; ++c)
          if (const std::int64_t id = data[r * cols + c]; id != kIgnoreIndex)
            ids.push_back(static_cast<std::int32_t>(id));
        bytes += static_cast<std::int64_t>(input.tokenizer->decode(ids).size());
      }
    }
  }
  if (tokens == 0)
    throw DataError("perplexity: the evaluation data has no target tokens (" +
                        std::to_string(batches) + " batches, all empty or masked)",
                    "check the eval data set and its split");

  if (input.bytes_per_token > 0)
    bytes = static_cast<std::int64_t>(std::llround(input.bytes_per_token * static_cast<double>(tokens)));
  const double loss = total_nats / static_cast<double>(tokens);
  Metrics metrics{
      {"loss", loss}, {"perplexity", std::exp(loss)}, {"tokens", static_cast<double>(tokens)}};
  // Undefined without text (a tokenizer whose tokens all decode to nothing).
  if (bytes > 0)
    metrics.push_back({"bits_per_byte", total_nats / std::log(2.0) / static_cast<double>(bytes)});
  return metrics;
}

}  // namespace anvil::builtin
