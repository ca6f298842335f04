#include "cli/run_setup.h"

#include "log/logging.h"

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

std::vector<fs::path> manifest_plugin_paths(const Manifest& manifest) {
  std::vector<fs::path> paths;
  const toml::array* entries = manifest.root().at_path("plugins.paths").as_array();
  if (!entries) return paths;
  for (const toml::node& entry : *entries)
    if (entry.is_string()) paths.push_back(Manifest::resolve_path(entry));
  return paths;
}

namespace {
std::vector<fs::path> search_path_of(const CommonOptions& common,
                                     const std::vector<fs::path>& manifest_paths) {
  std::vector<fs::path> first(common.plugin_paths.begin(), common.plugin_paths.end());
  first.insert(first.end(), manifest_paths.begin(), manifest_paths.end());
  return plugin_search_path(first);
}
}  // namespace

std::unique_ptr<PluginHost> load_plugins(const CommonOptions& common,
                                         const std::vector<fs::path>& manifest_paths) {
  auto host = std::make_unique<PluginHost>();
  host->discover(search_path_of(common, manifest_paths));
  return host;
}

std::unique_ptr<PluginHost> load_plugins_for(const CommonOptions& common, ComponentKind kind,
                                             const std::string& name) {
  const std::vector<fs::path> search_path = search_path_of(common, {});
  auto host = std::make_unique<PluginHost>();
  host->discover_kind(search_path, kind);
  if (!host->find(kind, name)) host->discover(search_path);
  return host;
}

}  // namespace anvil::core
