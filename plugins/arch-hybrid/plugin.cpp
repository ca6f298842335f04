// Registration of the "hybrid" architecture: the dense decoder's keys (<anvil/nn/decoder>) plus
// the window and the global attention's.
#include <anvil/nn/decoder/dense_footprint.h>
#include <anvil/nn/decoder/dense_schema.h>
#include "hybrid_options.h"

#include <anvil/nn/decoder/register_architecture.h>

#include <anvil/plugin.h>

namespace {

using anvil::nn::DenseOptions;
using anvil::nn::LocalAttention;

/// The hybrid's own keys: the window and the global attention beside it.
anvil::OptionBinding<LocalAttention> local_attention_binding(const LocalAttention& defaults) {
  anvil::OptionBinding<LocalAttention> binding(defaults);
  binding
      .bind("window", &LocalAttention::window,
            "sliding window of local attention: a token attends to itself and the window - 1 "
            "before it")
      .min(1);
  binding
      .bind("global_heads", &LocalAttention::global_heads,
            "heads of a full-attention branch summed with each local layer's output (0 = none)")
      .min(0);
  binding
      .bind("global_every", &LocalAttention::global_every,
            "every global_every-th layer attends over all positions instead of the window "
            "(0 = none)")
      .min(0);
  return binding;
}

anvil::OptionBinding<DenseOptions> hybrid_binding() {
  const DenseOptions defaults = anvil::builtin::hybrid_defaults();
  auto binding = anvil::nn::dense_binding(defaults, /*latent_attention=*/false);
  binding.include(local_attention_binding(defaults.local), &DenseOptions::local);
  return binding;
}

void register_components(anvil::Registry& registry) {
  const auto binding = hybrid_binding();
  // The options as the factory and the footprint read them; inconsistent ones are reported.
  const auto read_options = [binding](const anvil::Options& options, const anvil::RunContext& context) {
    const DenseOptions o = anvil::nn::read_dense_options(binding, options, context);
    anvil::nn::report_problems(options, anvil::builtin::hybrid_option_problems(o));
    options.diagnostics().throw_if_any();
    return o;
  };
  anvil::nn::register_architecture(
      registry, "hybrid",
      "dense decoder with sliding-window local attention plus global attention (a global "
      "branch in every layer, or global layers every N)",
      binding.schema(), read_options, anvil::builtin::make_hybrid_model, anvil::nn::dense_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-hybrid", "1.0.0", "Hybrid local/global attention decoder", "Apache-2.0",
             register_components)
