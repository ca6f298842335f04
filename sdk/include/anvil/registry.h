#pragma once
/// @file registry.h
/// The host registry a plugin's register function adds its components to.

#include <anvil/component.h>
#include <anvil/context.h>
#include <anvil/export.h>
#include <anvil/footprint.h>
#include <anvil/options.h>

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace anvil {

/// Everything the host knows about a component before creating one.
struct ComponentSpec {
  ComponentKind kind = ComponentKind::tokenizer;
  std::string name;         ///< what a manifest writes after `plugin =`; unique per kind
  std::string description;  ///< one line, shown by `anvil plugins list`
  OptionSchema options;     ///< every key of the component's manifest table
};

/// Creates a component from its validated options. Called by the host, which owns the result.
using ComponentFactory =
    std::function<std::unique_ptr<Component>(const Options& options, const RunContext& context)>;

/// Implemented by the host. A plugin's register function calls add() once per component; it
/// does no other work (no I/O, no threads, no allocation of tensors).
class ANVIL_SDK_API Registry {
 public:
  /// Destroys the registry (host side).
  virtual ~Registry();

  /// Registers component `name` of interface T (Tokenizer, Model, Optimizer, Offload, Loss or
  /// Evaluator). `factory` is callable as (const Options&, const RunContext&) and returns
  /// std::unique_ptr<U> with U derived from T.
  template <class T, class Factory>
  void add(std::string name, std::string description, OptionSchema options, Factory factory) {
    static_assert(std::is_base_of_v<Component, T>, "T must be one of the component interfaces");
    add_component(ComponentSpec{T::kKind, std::move(name), std::move(description), std::move(options)},
                  [factory = std::move(factory)](const Options& o, const RunContext& c)
                      -> std::unique_ptr<Component> {
                    std::unique_ptr<T> made = factory(o, c);
                    return made;
                  });
  }

  /// Type-erased registration; add<T>() is the convenient form.
  virtual void add_component(ComponentSpec spec, ComponentFactory factory) = 0;
  /// The host's Anvil version ("0.1.0").
  virtual std::string host_version() const = 0;

  // Added in SDK 0.4. New virtuals go at the end, so that plugins built against an older
  // minor version, which never call them, keep the vtable layout they were compiled with.

  /// Registers the memory footprint of architecture `name`, which this library registers with
  /// add<Model>() as well (before or after). Optional: without one, `anvil check` prints no
  /// memory plan for the architecture.
  virtual void add_model_footprint(std::string name, ModelFootprintFn footprint) = 0;
};

}  // namespace anvil
