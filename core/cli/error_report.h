#pragma once
// The single place where what a command throws becomes a message and an exit code. Both halves
// of the CLI use it: the `anvil` executable for the commands it runs itself, and the LibTorch
// commands library (cli/torch_commands.h) for the others, so every command reports alike.

#include <functional>
#include <string_view>

namespace anvil::core {

/// Runs `body` (command `command`'s work) and returns its exit code; what it throws is printed
/// compiler-style (manifest problems with file:line:col and a caret, then "N errors
/// generated.") and mapped to an exit code: 2 bad manifest or command line, 3 plugin error,
/// 1 any other failure. Nothing escapes, whatever was thrown.
int run_reporting_errors(std::string_view command, const std::function<int()>& body);

}  // namespace anvil::core
