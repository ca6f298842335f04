#pragma once
// Runs a command line through the shell and captures what it printed, for end-to-end tests.

#include <string>
#include <vector>

namespace anvil::test {

struct ProcessResult {
  int exit_code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs `command` with /bin/sh, stdout and stderr captured separately.
ProcessResult run_process(const std::string& command);

/// Runs the built `anvil` binary with `arguments` (already shell-quoted where needed).
ProcessResult run_anvil(const std::string& arguments);

/// True when some line of `text` starts with `cells`, in order, separated by whitespace (a row
/// of a printed table).
bool has_row(const std::string& text, const std::vector<std::string>& cells);

/// Writes `text` to a fresh file under the test's temporary folder and returns its path.
std::string write_temp_file(const std::string& name, const std::string& text);

}  // namespace anvil::test
