#pragma once
// Calls into a component's code after it was made: whatever a plugin throws from forward(),
// backward, step(), evaluate() or decode() reaches the user as one PluginError naming the
// component and its library (exit code 3), never as a bare message, a LibTorch backtrace or an
// abort. (Factories are covered by PluginHost::create.)

#include <anvil/component.h>
#include <anvil/errors.h>

#include <filesystem>
#include <string>
#include <utility>

namespace anvil::core {

/// A component as messages name it.
struct ComponentIdentity {
  ComponentIdentity(ComponentKind kind_ = ComponentKind::architecture, std::string name_ = "?",
                    std::filesystem::path library_ = {})
      : kind(kind_), name(std::move(name_)), library(std::move(library_)) {}
  ComponentKind kind;
  std::string name;
  std::filesystem::path library;  ///< empty when unknown (a component made in a test)
  /// "architecture 'dense' (from /…/arch-dense.so)".
  std::string describe() const;
};

/// Rethrows the exception being handled, from the code of `who` while it was doing `what`
/// ("forward", "the optimizer step"), as PluginError "<who> failed in <what>: <message>":
/// anvil::Error keeps its hint, LibTorch's c10::Error loses its backtrace, and a thrown value
/// that is not a std::exception is named as such. Call it only inside a catch block.
[[noreturn]] void rethrow_as_plugin_failure(const ComponentIdentity& who, const std::string& what);

/// Runs `call`, code of the component `who`, attributing what escapes it
/// (rethrow_as_plugin_failure). A ConfigError or PluginError passes unchanged: it already says
/// where it comes from.
template <class Call>
decltype(auto) call_plugin(const ComponentIdentity& who, const char* what, Call&& call) {
  try {
    return std::forward<Call>(call)();
  } catch (const ConfigError&) {
    throw;
  } catch (const PluginError&) {
    throw;
  } catch (...) {
    rethrow_as_plugin_failure(who, what);
  }
}

}  // namespace anvil::core
