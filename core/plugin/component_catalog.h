#pragma once
// What manifest validation needs to know about registered components: their declared specs.
// PluginHost implements it; tests can use a fixed catalog.

#include <anvil/component.h>
#include <anvil/registry.h>

#include <string>
#include <string_view>
#include <vector>

namespace anvil::core {

class ComponentCatalog {
 public:
  virtual ~ComponentCatalog() = default;
  /// The spec of component `name` of `kind`, or nullptr when none is registered.
  virtual const ComponentSpec* find_spec(ComponentKind kind, std::string_view name) const = 0;
  /// Names of all registered components of `kind`, sorted.
  virtual std::vector<std::string> names(ComponentKind kind) const = 0;
  /// Where components were looked for, and which libraries failed to load, for the message
  /// about a component that is not there; "" when there is nothing to say.
  virtual std::string search_summary() const { return {}; }
};

}  // namespace anvil::core
