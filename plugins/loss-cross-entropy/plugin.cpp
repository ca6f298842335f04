// Registration of the "cross-entropy" loss: its options and the factory that reads them.
#include "cross_entropy_loss.h"

#include <anvil/option_binding.h>
#include <anvil/plugin.h>

namespace {

using anvil::builtin::CrossEntropyOptions;

anvil::OptionBinding<CrossEntropyOptions> cross_entropy_options() {
  anvil::OptionBinding<CrossEntropyOptions> binding;
  binding.bind("ignore_index", &CrossEntropyOptions::ignore_index,
               "target value of positions left out of the loss");
  binding
      .bind("label_smoothing", &CrossEntropyOptions::label_smoothing,
            "share of the target probability spread evenly over the vocabulary")
      .range(0.0, 1.0);
  binding
      .bind("z_loss", &CrossEntropyOptions::z_loss,
            "weight of the z-loss, mean(logsumexp(logits)^2), that keeps logits small (0 = off)")
      .min(0.0);
  return binding;
}

void register_components(anvil::Registry& registry) {
  const auto binding = cross_entropy_options();
  registry.add<anvil::Loss>("cross-entropy",
                            "Next-token cross-entropy with label smoothing and z-loss",
                            binding.schema(), [binding](const anvil::Options& options, const anvil::RunContext&) {
                              const CrossEntropyOptions o = binding.read(options);
                              options.diagnostics().throw_if_any();
                              return std::make_unique<anvil::builtin::CrossEntropyLoss>(o);
                            });
}

}  // namespace

ANVIL_PLUGIN("loss-cross-entropy",
             "1.0.0",
             "Next-token cross-entropy loss",
             "Apache-2.0",
             register_components)
