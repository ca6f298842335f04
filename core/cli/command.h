#pragma once
// The `anvil` command table. The executable runs the commands that need no tensor itself
// (tokenizer, data, plugins) and so starts without LibTorch; the others live in the LibTorch commands
// library (cli/torch_commands.h), which it loads when one of them is asked for.

#include <string>
#include <vector>

namespace anvil::core {

/// One `anvil <name>` command. `run` receives the arguments after the command name and returns
/// the exit code; errors are thrown (anvil::Error and Boost.Program_options errors) and
/// reported by run_reporting_errors (cli/error_report.h).
struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

/// Every command, in the order `anvil --help` lists them.
const std::vector<Command>& commands();

/// Entry point of the binary: dispatches argv to a command and maps what it throws to an exit
/// code: 0 ok, 1 failure, 2 bad manifest or command line, 3 plugin error.
int run_cli(int argc, char** argv);

// The commands the executable runs itself (one file each).
int run_plugins_command(const std::vector<std::string>& args);
int run_tokenizer_command(const std::vector<std::string>& args);
int run_data_command(const std::vector<std::string>& args);

}  // namespace anvil::core
