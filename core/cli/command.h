#pragma once
// The `anvil` command table and the single place where errors become messages and exit codes.

#include <string>
#include <vector>

namespace anvil::core {

/// One `anvil <name>` command. `run` receives the arguments after the command name and returns
/// the exit code; errors are thrown (anvil::Error and Boost.Program_options errors) and
/// reported by run_cli.
struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

/// Every command, in the order `anvil --help` lists them.
const std::vector<Command>& commands();

/// Entry point of the binary: dispatches argv to a command, prints errors compiler-style
/// (manifest problems with file:line:col and a caret) and maps them to exit codes:
/// 0 ok, 1 failure, 2 bad manifest or command line, 3 plugin error.
int run_cli(int argc, char** argv);

// The commands (one file each).
int run_version_command(const std::vector<std::string>& args);
int run_plugins_command(const std::vector<std::string>& args);
int run_check_command(const std::vector<std::string>& args);
int run_tokenizer_command(const std::vector<std::string>& args);
int run_data_command(const std::vector<std::string>& args);
int run_train_command(const std::vector<std::string>& args);
int run_export_command(const std::vector<std::string>& args);
int run_generate_command(const std::vector<std::string>& args);

}  // namespace anvil::core
