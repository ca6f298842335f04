// Registration of the "none" offload. It has no options.
#include "none_offload.h"

#include <anvil/plugin.h>

namespace {

std::unique_ptr<anvil::builtin::NoneOffload> make_none(const anvil::Options&,
                                                       const anvil::RunContext&) {
  return std::make_unique<anvil::builtin::NoneOffload>();
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Offload>("none", "No offload: state stays on the device it was stored from",
                               anvil::OptionSchema{}, make_none);
}

}  // namespace

ANVIL_PLUGIN("offload-none",
             "1.0.0",
             "Keeps optimizer state and parameters in place",
             "Apache-2.0",
             register_components)
