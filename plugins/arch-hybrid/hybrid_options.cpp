// The hybrid architecture's options (see hybrid_options.h).
#include "hybrid_options.h"

#include <anvil/errors.h>

#include <string>

namespace anvil::builtin {

DenseOptions hybrid_defaults() {
  DenseOptions o;
  o.window = 64;
  o.global_heads = 1;
  return o;
}

std::vector<DenseOptionProblem> hybrid_option_problems(const DenseOptions& o) {
  std::vector<DenseOptionProblem> problems = dense_option_problems(o);
  if (o.window < 1)
    problems.push_back({"window", "must be positive for hybrid attention, got " + std::to_string(o.window)});
  if (o.global_heads == 0 && o.global_every == 0)
    problems.push_back({"global_heads",
                        "or global_every must be positive: without global attention a token sees "
                        "only the last window positions in each layer"});
  if (o.global_every > o.n_layers && o.global_heads == 0)
    problems.push_back({"global_every", "must be at most n_layers (" + std::to_string(o.n_layers) +
                                            ") or no layer is global, got " +
                                            std::to_string(o.global_every)});
  return problems;
}

std::unique_ptr<DenseModel> make_hybrid_model(DenseOptions options, const RunContext& context) {
  require_vocab_size("hybrid", context);
  options.vocab_size = context.vocab_size;
  throw_option_problems("hybrid", hybrid_option_problems(options));
  return std::make_unique<DenseModel>(std::move(options), context);
}

}  // namespace anvil::builtin
