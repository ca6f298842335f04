// Registration of the "dense" architecture: its options and the factory that reads them.
#include "dense_footprint.h"
#include "dense_model.h"
#include "dense_schema.h"

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

std::unique_ptr<anvil::builtin::DenseModel> make_dense(const anvil::Options& options,
                                                       const anvil::RunContext& context) {
  return anvil::builtin::make_dense_model(read_options(options, context), context);
}

anvil::ModelFootprint dense_footprint(const anvil::Options& options, const anvil::FootprintQuery& query) {
  anvil::RunContext context;
  context.vocab_size = query.vocab_size;
  return anvil::builtin::dense_footprint(read_options(options, context), query);
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Model>(
      "dense",
      "Llama-style decoder: RMSNorm, rotary positions, grouped-query attention, SwiGLU MLP",
      dense_schema(), make_dense);
  registry.add_model_footprint("dense", dense_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-dense", "1.0.0", "Llama-style dense decoder", "Apache-2.0", register_components)
