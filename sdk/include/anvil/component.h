#pragma once
/// @file component.h
/// The six kinds of plugin components and the base class they share.

#include <anvil/export.h>

#include <optional>
#include <string>
#include <string_view>

namespace anvil {

/// The kinds of component a plugin can provide. Each kind has one interface header.
enum class ComponentKind {
  tokenizer,     ///< text <-> token ids (anvil/tokenizer.h)
  architecture,  ///< builds the model (anvil/model.h)
  optimizer,     ///< updates parameters from gradients (anvil/optimizer.h)
  offload,       ///< where optimizer state and parameters live between uses (anvil/offload.h)
  loss,          ///< training objective (anvil/loss.h)
  evaluator,     ///< metrics of a model on an eval set (anvil/evaluator.h)
};

/// All kinds, in the order they are listed to users.
inline constexpr ComponentKind kAllComponentKinds[] = {
    ComponentKind::tokenizer, ComponentKind::architecture, ComponentKind::optimizer,
    ComponentKind::offload,   ComponentKind::loss,         ComponentKind::evaluator};

/// The kind's name as written in docs and `anvil plugins list` ("tokenizer", "architecture", ...).
ANVIL_SDK_API std::string_view to_string(ComponentKind kind);

/// Parses a kind name; std::nullopt when `name` is not one of the six.
ANVIL_SDK_API std::optional<ComponentKind> parse_component_kind(std::string_view name);

/// Base of every component a plugin makes. The host owns components through this type and
/// destroys them while the library that made them is still loaded.
class ANVIL_SDK_API Component {
 public:
  /// Runs while the component's library is still loaded (the host guarantees it).
  virtual ~Component();
};

}  // namespace anvil
