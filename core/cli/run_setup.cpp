#include "cli/run_setup.h"

#include "log/logging.h"
#include "run/open_run.h"

#include <anvil/errors.h>

#include <iostream>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace anvil::core {

void add_common_options(po::options_description& description, CommonOptions& options) {
  description.add_options()
      ("log-level", po::value(&options.log_level)->default_value("info")->value_name("LEVEL"),
       "trace, debug, info, warn, error or off")
      ("log-file", po::value(&options.log_file)->value_name("PATH"),
       "also write the log to this file")
      ("plugin-path", po::value(&options.plugin_paths)->composing()->value_name("DIR"),
       "search DIR for plugins first (repeatable)");
}

bool parse_command_line(const std::vector<std::string>& args, const std::string& usage,
                        po::options_description& description,
                        const po::positional_options_description& positional,
                        po::variables_map& values, const CommonOptions& common) {
  description.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(description).positional(positional).run(),
            values);
  if (values.count("help")) {
    std::cout << "usage: " << usage << "\n\n" << description << "\n";
    return false;
  }
  po::notify(values);
  const std::optional<LogLevel> level = parse_log_level(common.log_level);
  if (!level)
    throw po::error("invalid --log-level '" + common.log_level +
                    "': expected trace, debug, info, warn, error or off");
  setup_logging(*level, common.log_file);
  return true;
}

int run_action(const std::string& command, const std::vector<std::string>& args,
               const std::string& usage, const std::vector<Action>& actions) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << usage;
    return args.empty() ? kExitConfig : kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const Action& action : actions)
    if (args[0] == action.name) return action.run(rest);
  std::cerr << "anvil " << command << ": unknown action '" << args[0] << "'\n" << usage;
  return kExitConfig;
}

std::unique_ptr<PluginHost> load_plugins(const CommonOptions& common,
                                         const std::vector<fs::path>& manifest_paths) {
  return discover_plugins(common.plugin_paths, manifest_paths);
}

}  // namespace anvil::core
