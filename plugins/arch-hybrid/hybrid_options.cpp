// The hybrid architecture's options (see hybrid_options.h).
#include "hybrid_options.h"

#include <anvil/errors.h>

#include <string>

namespace anvil::builtin {

DenseOptions hybrid_defaults() {
  DenseOptions o;
  o.local.window = 64;
  o.local.global_heads = 1;
  return o;
}

std::vector<DenseOptionProblem> hybrid_option_problems(const DenseOptions& o) {
  std::vector<DenseOptionProblem> problems = nn::dense_option_problems(o);
  if (o.local.window < 1)
    problems.push_back({"window", "must be positive for hybrid attention, got " + std::to_string(o.local.window)});
  if (o.local.global_heads == 0 && o.local.global_every == 0)
    problems.push_back({"global_heads",
                        "or global_every must be positive: without global attention a token sees "
                        "only the last window positions in each layer"});
  if (o.local.global_every > o.n_layers && o.local.global_heads == 0)
    problems.push_back({"global_every", "must be at most n_layers (" + std::to_string(o.n_layers) +
                                            ") or no layer is global, got " +
                                            std::to_string(o.local.global_every)});
  return problems;
}

std::unique_ptr<DenseModel> make_hybrid_model(DenseOptions options, const RunContext& context) {
  nn::require_vocab_size("hybrid", context);
  options.vocab_size = context.vocab_size;
  nn::throw_option_problems("hybrid", hybrid_option_problems(options));
  return std::make_unique<DenseModel>(std::move(options), context);
}

}  // namespace anvil::builtin
