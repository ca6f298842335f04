// Registration of the "bigram" architecture: its options and the factory that reads them.
#include "bigram_model.h"

#include <anvil/plugin.h>

namespace {

anvil::OptionSchema bigram_schema() {
  anvil::OptionSchema schema;
  schema
      .add("init_std", 0.02,
           "standard deviation of the normal initialisation of the logit table (> 0)")
      .min(0.0);
  return schema;
}

double read_init_std(const anvil::Options& options) {
  const double init_std = options.get<double>("init_std");
  // The schema's bound is inclusive; a zero std would make every logit equal forever.
  if (!(init_std > 0)) options.error("init_std", "must be greater than 0");
  options.diagnostics().throw_if_any();
  return init_std;
}

std::unique_ptr<anvil::builtin::BigramModel> make_bigram(const anvil::Options& options,
                                                         const anvil::RunContext& context) {
  return anvil::builtin::make_bigram_model(read_init_std(options), context);
}

anvil::ModelFootprint bigram_footprint(const anvil::Options& options, const anvil::FootprintQuery& query) {
  read_init_std(options);
  return anvil::builtin::bigram_footprint(query);
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Model>("bigram", "Bigram language model: a [V, V] table of next-token logits",
                             bigram_schema(), make_bigram);
  registry.add_model_footprint("bigram", bigram_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-bigram", "1.0.0", "Bigram language model", "Apache-2.0", register_components)
