#pragma once
// The message of the anvil::Error an action throws, for tests that check what users read.

#include <anvil/errors.h>

#include <functional>
#include <string>

namespace anvil::test {

/// what() of the anvil::Error `f` throws, or "<no anvil::Error>" when it throws none.
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const anvil::Error& e) {
    return e.what();
  }
  return "<no anvil::Error>";
}

}  // namespace anvil::test
