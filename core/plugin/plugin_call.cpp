#include "plugin/plugin_call.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <exception>

namespace anvil::core {

std::string ComponentIdentity::describe() const {
  std::string text = fmt::format("{} '{}'", to_string(kind), name);
  if (!library.empty()) text += " (from " + library.string() + ")";
  return text;
}

void rethrow_as_plugin_failure(const ComponentIdentity& who, const std::string& what) {
  const std::string prefix = who.describe() + " failed in " + what + ": ";
  try {
    throw;
  } catch (const Error& e) {
    throw PluginError(who.name, prefix + e.what(), e.hint());
  } catch (const c10::Error& e) {
    // what() ends in a backtrace of LibTorch's frames: of no use to the plugin's user.
    throw PluginError(who.name, prefix + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw PluginError(who.name, prefix + e.what());
  } catch (...) {
    throw PluginError(who.name, prefix + "an exception not derived from std::exception",
                      "a plugin should throw anvil::Error (or another std::exception)");
  }
}

}  // namespace anvil::core
