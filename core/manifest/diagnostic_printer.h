#pragma once
// Prints diagnostics compiler-style:
//
//   configs/run.toml:12:10: error: optimizer.lr: expected a number, got string "fast"
//      12 | lr = "fast"
//         |      ^~~~~~
//   HINT: ...
//
// The source line is read from the file. A value that came from a command-line override has
// the source path "--set KEY=VALUE"; its headline reads "--set KEY=VALUE: error: key: message"
// and the override text is shown with the caret under the value.

#include <anvil/errors.h>

#include <ostream>
#include <string>
#include <vector>

namespace anvil::core {

/// Writes every diagnostic of `diagnostics` to `out`, each with its source line and caret when
/// the position is known.
void print_diagnostics(std::ostream& out, const std::vector<Diagnostic>& diagnostics);

/// One diagnostic's first line: "file:line:col: error: key: message".
std::string format_diagnostic_headline(const Diagnostic& diagnostic);

}  // namespace anvil::core
