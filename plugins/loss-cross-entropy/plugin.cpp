// Registration of the "cross-entropy" loss: its options and the factory that reads them.
#include "cross_entropy_loss.h"

#include <anvil/plugin.h>

namespace {

anvil::OptionSchema cross_entropy_schema() {
  anvil::OptionSchema schema;
  schema.add("ignore_index", std::int64_t{-100}, "target value of positions left out of the loss");
  schema
      .add("label_smoothing", 0.0,
           "share of the target probability spread evenly over the vocabulary")
      .range(0.0, 1.0);
  schema
      .add("z_loss", 0.0,
           "weight of the z-loss, mean(logsumexp(logits)^2), that keeps logits small (0 = off)")
      .min(0.0);
  return schema;
}

std::unique_ptr<anvil::builtin::CrossEntropyLoss> make_cross_entropy(const anvil::Options& options,
                                                                     const anvil::RunContext&) {
  anvil::builtin::CrossEntropyOptions o;
  o.ignore_index = options.get<std::int64_t>("ignore_index");
  o.label_smoothing = options.get<double>("label_smoothing");
  o.z_loss = options.get<double>("z_loss");
  options.diagnostics().throw_if_any();
  return std::make_unique<anvil::builtin::CrossEntropyLoss>(o);
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Loss>("cross-entropy",
                            "Next-token cross-entropy with label smoothing and z-loss",
                            cross_entropy_schema(), make_cross_entropy);
}

}  // namespace

ANVIL_PLUGIN("loss-cross-entropy",
             "1.0.0",
             "Next-token cross-entropy loss",
             "Apache-2.0",
             register_components)
