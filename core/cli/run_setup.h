#pragma once
// What every command shares: the common options (logging, plugin path), command-line parsing
// with --help, and loading the plugins a manifest needs. Free of LibTorch, like the commands
// the `anvil` executable runs itself (cli/command.h).

#include "manifest/manifest.h"
#include "plugin/plugin_host.h"
#include "run/open_run.h"

#include <boost/program_options.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace anvil::core {

/// Options accepted by every command.
struct CommonOptions {
  std::string log_level = "info";
  std::string log_file;
  std::vector<std::string> plugin_paths;  ///< --plugin-path, searched before everything else
};

/// Adds --log-level, --log-file and --plugin-path bound to `options`.
void add_common_options(boost::program_options::options_description& description,
                        CommonOptions& options);

/// Parses `args` for command `usage` ("anvil check <manifest.toml> [options]"). Prints the usage
/// and the options and returns false when --help was given; throws Boost.Program_options errors
/// (reported as exit code 2) for unknown or malformed options. Applies the logging options.
bool parse_command_line(const std::vector<std::string>& args, const std::string& usage,
                        boost::program_options::options_description& description,
                        const boost::program_options::positional_options_description& positional,
                        boost::program_options::variables_map& values,
                        const CommonOptions& common);

/// One action of a command that has several (`anvil tokenizer train`).
struct Action {
  const char* name;
  int (*run)(const std::vector<std::string>& args);
};

/// Runs the action `args[0]` names with the remaining arguments. `usage` (the actions, one
/// line each) goes to stdout for --help (exit 0) and to stderr when no action is given or the
/// action is unknown (exit 2).
int run_action(const std::string& command, const std::vector<std::string>& args,
               const std::string& usage, const std::vector<Action>& actions);

/// Discovers plugins on --plugin-path, then `manifest_paths`, then $ANVIL_PLUGIN_PATH and the
/// install folder. Rejected libraries are logged as warnings and stay visible in libraries().
std::unique_ptr<PluginHost> load_plugins(const CommonOptions& common,
                                         const std::vector<std::filesystem::path>& manifest_paths);

}  // namespace anvil::core
