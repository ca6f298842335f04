// Registration of the "hybrid" architecture: the dense decoder's keys plus the window and the
// global attention's.
#include "dense_footprint.h"
#include "dense_schema.h"
#include "hybrid_options.h"

#include "register_architecture.h"

#include <anvil/plugin.h>

namespace {

using anvil::builtin::DenseOptions;

anvil::OptionBinding<DenseOptions> hybrid_binding() {
  auto binding = anvil::builtin::dense_binding(anvil::builtin::hybrid_defaults(), /*latent_attention=*/false);
  binding
      .bind("window", &DenseOptions::window,
            "sliding window of local attention: a token attends to itself and the window - 1 "
            "before it")
      .min(1);
  binding
      .bind("global_heads", &DenseOptions::global_heads,
            "heads of a full-attention branch summed with each local layer's output (0 = none)")
      .min(0);
  binding
      .bind("global_every", &DenseOptions::global_every,
            "every global_every-th layer attends over all positions instead of the window "
            "(0 = none)")
      .min(0);
  return binding;
}

void register_components(anvil::Registry& registry) {
  const auto binding = hybrid_binding();
  // The options as the factory and the footprint read them; inconsistent ones are reported.
  const auto read_options = [binding](const anvil::Options& options, const anvil::RunContext& context) {
    const DenseOptions o = anvil::builtin::read_dense_options(binding, options, context);
    anvil::builtin::report_problems(options, anvil::builtin::hybrid_option_problems(o));
    options.diagnostics().throw_if_any();
    return o;
  };
  anvil::builtin::register_architecture(
      registry, "hybrid",
      "dense decoder with sliding-window local attention plus global attention (a global "
      "branch in every layer, or global layers every N)",
      binding.schema(), read_options, anvil::builtin::make_hybrid_model, anvil::builtin::dense_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-hybrid", "1.0.0", "Hybrid local/global attention decoder", "Apache-2.0",
             register_components)
