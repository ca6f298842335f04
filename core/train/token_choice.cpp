#include "train/token_choice.h"

#include <ATen/Functions.h>

#include <algorithm>

namespace anvil::core {

void penalize_repetition(at::Tensor& logits, const std::vector<std::int64_t>& history, double penalty) {
  if (penalty == 1.0 || history.empty()) return;
  std::vector<std::int64_t> unique_ids = history;
  std::sort(unique_ids.begin(), unique_ids.end());
  unique_ids.erase(std::unique(unique_ids.begin(), unique_ids.end()), unique_ids.end());
  const at::Tensor ids = at::tensor(unique_ids, at::kLong);
  const at::Tensor seen = logits.index_select(0, ids);
  logits.index_copy_(0, ids, at::where(seen.gt(0), seen.div(penalty), seen.mul(penalty)));
}

std::int64_t choose_token(const at::Tensor& logits, const std::vector<std::int64_t>& history,
                          const ChoiceOptions& options, at::Generator& generator) {
  at::Tensor scores = logits.to(at::kCPU, at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  penalize_repetition(scores, history, options.repetition_penalty);
  if (options.temperature <= 0) return scores.argmax().item<std::int64_t>();

  // Candidates in descending order of probability; top-k and top-p cut the tail.
  const std::int64_t vocab = scores.size(0);
  const std::int64_t k = options.top_k > 0 && options.top_k < vocab ? options.top_k : vocab;
  auto [values, ids] = scores.div(options.temperature).topk(k);
  at::Tensor probs = values.softmax(0);
  if (options.top_p < 1.0) {
    // Keep a token while the mass before it is below p (so the most likely always stays).
    const at::Tensor before = probs.cumsum(0).sub(probs);
    const std::int64_t keep = std::max<std::int64_t>(1, before.lt(options.top_p).sum().item<std::int64_t>());
    probs = probs.slice(0, 0, keep);
    ids = ids.slice(0, 0, keep);
  }
  const std::int64_t choice = at::multinomial(probs, 1, false, generator).item<std::int64_t>();
  return ids[choice].item<std::int64_t>();
}

}  // namespace anvil::core
