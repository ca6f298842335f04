// Registration of the "hybrid" architecture: the dense decoder's keys plus the window and the
// global attention's.
#include "dense_footprint.h"
#include "dense_schema.h"
#include "hybrid_options.h"

#include "register_architecture.h"

#include <anvil/plugin.h>

namespace {

anvil::OptionSchema hybrid_schema() {
  const anvil::builtin::DenseOptions defaults = anvil::builtin::hybrid_defaults();
  anvil::OptionSchema schema;
  anvil::builtin::add_dense_schema(schema, defaults);
  schema
      .add("window", defaults.window,
           "sliding window of local attention: a token attends to itself and the window - 1 "
           "before it")
      .min(1);
  schema
      .add("global_heads", defaults.global_heads,
           "heads of a full-attention branch summed with each local layer's output (0 = none)")
      .min(0);
  schema
      .add("global_every", defaults.global_every,
           "every global_every-th layer attends over all positions instead of the window "
           "(0 = none)")
      .min(0);
  return schema;
}

// The options as the factory and the footprint read them; inconsistent ones are reported.
anvil::builtin::DenseOptions read_options(const anvil::Options& options, const anvil::RunContext& context) {
  anvil::builtin::DenseOptions o = anvil::builtin::read_dense_options(options, context);
  o.window = options.get<std::int64_t>("window");
  o.global_heads = options.get<std::int64_t>("global_heads");
  o.global_every = options.get<std::int64_t>("global_every");
  anvil::builtin::report_problems(options, anvil::builtin::hybrid_option_problems(o));
  options.diagnostics().throw_if_any();
  return o;
}

void register_components(anvil::Registry& registry) {
  anvil::builtin::register_architecture(
      registry, "hybrid",
      "dense decoder with sliding-window local attention plus global attention (a global "
      "branch in every layer, or global layers every N)",
      hybrid_schema(), read_options, anvil::builtin::make_hybrid_model, anvil::builtin::dense_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-hybrid", "1.0.0", "Hybrid local/global attention decoder", "Apache-2.0",
             register_components)
