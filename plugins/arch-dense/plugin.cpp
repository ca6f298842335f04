// Registration of the "dense" architecture: its options and the factory that reads them.
#include <anvil/nn/decoder/dense_footprint.h>
#include <anvil/nn/decoder/dense_model.h>
#include <anvil/nn/decoder/dense_schema.h>

#include <anvil/nn/decoder/register_architecture.h>

#include <anvil/plugin.h>

namespace {

void register_components(anvil::Registry& registry) {
  const auto binding = anvil::nn::dense_binding();
  // The options as the factory and the footprint read them; inconsistent ones are reported.
  const auto read_options = [binding](const anvil::Options& options, const anvil::RunContext& context) {
    const anvil::nn::DenseOptions o = anvil::nn::read_dense_options(binding, options, context);
    anvil::nn::report_problems(options, anvil::nn::dense_option_problems(o));
    options.diagnostics().throw_if_any();
    return o;
  };
  anvil::nn::register_architecture(
      registry, "dense",
      "Llama-style decoder: RMSNorm, rotary positions, grouped-query attention, SwiGLU MLP",
      binding.schema(), read_options, anvil::nn::make_dense_model, anvil::nn::dense_footprint);
}

}  // namespace

ANVIL_PLUGIN("arch-dense", "1.0.0", "Llama-style dense decoder", "Apache-2.0", register_components)
