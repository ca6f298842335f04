// Registration of the "perplexity" evaluator: its options and the factory that reads them.
#include "perplexity_evaluator.h"

#include <anvil/plugin.h>

namespace {

anvil::OptionSchema perplexity_schema() {
  anvil::OptionSchema schema;
  schema
      .add("max_batches", std::int64_t{100},
           "evaluate the first this many validation batches (a fixed subset, the same at every "
           "eval); 0 = the whole validation split, which on a large split costs more than the "
           "training between evals")
      .min(0.0);
  return schema;
}

std::unique_ptr<anvil::builtin::PerplexityEvaluator> make_perplexity(const anvil::Options& options,
                                                                     const anvil::RunContext&) {
  anvil::builtin::PerplexityOptions o;
  o.max_batches = options.get<std::int64_t>("max_batches");
  options.diagnostics().throw_if_any();
  return std::make_unique<anvil::builtin::PerplexityEvaluator>(o);
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Evaluator>("perplexity", "Mean cross-entropy, perplexity and bits per byte",
                                 perplexity_schema(), make_perplexity);
}

}  // namespace

ANVIL_PLUGIN(
    "eval-perplexity", "1.0.0", "Perplexity and bits per byte", "Apache-2.0", register_components)
