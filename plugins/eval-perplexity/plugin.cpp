// Registration of the "perplexity" evaluator: its options and the factory that reads them.
#include "perplexity_evaluator.h"

#include <anvil/plugin.h>

namespace {

anvil::OptionSchema perplexity_schema() {
  anvil::OptionSchema schema;
  schema
      .add("max_batches", std::int64_t{0},
           "evaluate at most this many batches (0 = the whole eval set)")
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
