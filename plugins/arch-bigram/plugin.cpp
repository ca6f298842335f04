// Registration of the "bigram" architecture: its options and the factory that reads them.
#include "bigram_model.h"

#include <anvil/option_binding.h>
#include <anvil/plugin.h>

namespace {

/// The manifest's keys (the model's own options also carry the vocabulary size).
struct BigramSettings {
  double init_std = 0.02;
};

const anvil::OptionBinding<BigramSettings>& bigram_binding() {
  static const anvil::OptionBinding<BigramSettings> binding = [] {
    anvil::OptionBinding<BigramSettings> b;
    b.bind("init_std", &BigramSettings::init_std,
           "standard deviation of the normal initialisation of the logit table (> 0)")
        .min(0.0);
    return b;
  }();
  return binding;
}

double read_init_std(const anvil::Options& options) {
  const double init_std = bigram_binding().read(options).init_std;
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
                             bigram_binding().schema(), make_bigram);
  registry.add_model_footprint("bigram", bigram_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-bigram", "1.0.0", "Bigram language model", "Apache-2.0", register_components)
