// Registration of the "perplexity" evaluator: its options and the factory that reads them.
#include "perplexity_evaluator.h"

#include <anvil/option_binding.h>
#include <anvil/plugin.h>

namespace {

using anvil::builtin::PerplexityOptions;

anvil::OptionBinding<PerplexityOptions> perplexity_options() {
  anvil::OptionBinding<PerplexityOptions> binding;
  binding
      .bind("max_batches", &PerplexityOptions::max_batches,
            "evaluate the first this many validation batches (a fixed subset, the same at every "
            "eval); 0 = the whole validation split, which on a large split costs more than the "
            "training between evals")
      .min(0.0);
  return binding;
}

void register_components(anvil::Registry& registry) {
  const auto binding = perplexity_options();
  registry.add<anvil::Evaluator>("perplexity", "Mean cross-entropy, perplexity and bits per byte",
                                 binding.schema(), [binding](const anvil::Options& options, const anvil::RunContext&) {
                                   const PerplexityOptions o = binding.read(options);
                                   options.diagnostics().throw_if_any();
                                   return std::make_unique<anvil::builtin::PerplexityEvaluator>(o);
                                 });
}

}  // namespace

ANVIL_PLUGIN(
    "eval-perplexity", "1.0.0", "Perplexity and bits per byte", "Apache-2.0", register_components)
