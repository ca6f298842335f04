#pragma once
// The message and hint of the DataError an action throws, for tests that check both.

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <string>

namespace anvil::test {

/// "<message> | HINT: <hint>" of the DataError `action` throws; fails the test if none is.
template <class F>
std::string data_error(F action) {
  try {
    action();
  } catch (const anvil::DataError& error) {
    return std::string(error.what()) + " | HINT: " + error.hint();
  }
  FAIL("no DataError thrown");
  return {};
}

}  // namespace anvil::test
