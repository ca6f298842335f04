// Registration of the "dense" architecture: its options and the factory that reads them.
#include "dense_footprint.h"
#include "dense_model.h"
#include "dense_schema.h"

#include "register_architecture.h"

#include <anvil/plugin.h>

namespace {

anvil::OptionSchema dense_schema() {
  anvil::OptionSchema schema;
  anvil::builtin::add_dense_schema(schema);
  anvil::builtin::add_latent_attention_schema(schema);
  return schema;
}

// The options as the factory and the footprint read them; inconsistent ones are reported.
anvil::builtin::DenseOptions read_options(const anvil::Options& options, const anvil::RunContext& context) {
  anvil::builtin::DenseOptions o = anvil::builtin::read_dense_options(options, context);
  anvil::builtin::read_latent_attention_options(options, o);
  anvil::builtin::report_problems(options, anvil::builtin::dense_option_problems(o));
  options.diagnostics().throw_if_any();
  return o;
}

void register_components(anvil::Registry& registry) {
  anvil::builtin::register_architecture(
      registry, "dense",
      "Llama-style decoder: RMSNorm, rotary positions, grouped-query attention, SwiGLU MLP",
      dense_schema(), read_options, anvil::builtin::make_dense_model, anvil::builtin::dense_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-dense", "1.0.0", "Llama-style dense decoder", "Apache-2.0", register_components)
