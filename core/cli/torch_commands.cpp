// The LibTorch commands library's entry point (see torch_commands.h).
#include "cli/torch_commands.h"

#include "cli/error_report.h"

#include <anvil/errors.h>

#include <iostream>
#include <string_view>

namespace anvil::core {

namespace {

struct TorchCommand {
  const char* name;
  int (*run)(const std::vector<std::string>& args);
};

constexpr TorchCommand kTorchCommands[] = {
    {"check", run_check_command},   {"train", run_train_command},
    {"generate", run_generate_command}, {"export", run_export_command},
    {"version", run_version_command},
};

}  // namespace

}  // namespace anvil::core

extern "C" __attribute__((visibility("default"))) int anvil_run_torch_command(
    const char* name, const std::vector<std::string>* args) {
  using namespace anvil::core;
  for (const TorchCommand& command : kTorchCommands)
    if (std::string_view(name) == command.name)
      return run_reporting_errors(name, [&] { return command.run(*args); });
  std::cerr << "anvil: the commands library has no command '" << name << "'\n";
  return anvil::kExitFailure;
}
