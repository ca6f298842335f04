#pragma once
// How much state an optimizer keeps per weight, learned by running it: any optimizer plugin
// works, with nothing declared.

#include <anvil/optimizer.h>

namespace anvil::core {

/// Bytes of state `optimizer` (fresh, without parameters) keeps per float32 weight: it is given
/// one probe parameter with a gradient, takes a step, and its state_dict() is measured (tensors
/// the size of the parameter count; per-group scalars such as step counters do not).
double optimizer_state_bytes_per_parameter(Optimizer& optimizer);

}  // namespace anvil::core
