#include "cli/command.h"

#include "cli/error_report.h"
#include "cli/torch_commands.h"

#include <anvil/errors.h>

#include <iostream>
#include <string_view>

namespace anvil::core {

// A LibTorch command as the table sees it: `anvil <name>` runs it from the commands library.
#define ANVIL_TORCH_COMMAND(name) \
  [](const std::vector<std::string>& args) { return run_torch_command(name, args); }

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"check", "validate a manifest and print the resolved run", ANVIL_TORCH_COMMAND("check")},
      {"plugins", "list plugins or show one plugin's options", run_plugins_command},
      {"tokenizer", "train a tokenizer; encode or decode text with one", run_tokenizer_command},
      {"data", "prepare token shards from a corpus; inspect a prepared dataset", run_data_command},
      {"train", "train a model from a manifest (prepares its data first when needed)",
       ANVIL_TORCH_COMMAND("train")},
      {"generate", "generate text from a checkpoint (prompt from --prompt or stdin)",
       ANVIL_TORCH_COMMAND("generate")},
      {"export", "write a checkpoint as a Hugging Face model folder", ANVIL_TORCH_COMMAND("export")},
      {"version", "print versions of anvil, the SDK ABI, LibTorch, CUDA and NCCL",
       ANVIL_TORCH_COMMAND("version")},
  };
  return table;
}

#undef ANVIL_TORCH_COMMAND

namespace {

void print_usage(std::ostream& out) {
  out << "usage: anvil <command> [options]\n"
         "       anvil --version | --help\n\ncommands:\n";
  for (const Command& c : commands())
    out << "  " << c.name << std::string(11 - std::string_view(c.name).size(), ' ') << c.summary
        << "\n";
  out << "\nRun 'anvil <command> --help' for a command's options.\n";
}

}  // namespace

int run_cli(int argc, char** argv) {
  remember_process_arguments(argc, argv);
  if (argc < 2) {
    print_usage(std::cerr);
    return kExitConfig;
  }
  const std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(std::cout);
    return kExitOk;
  }
  const std::string_view name = first == "--version" || first == "-V" ? "version" : first;
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : commands())
    if (name == c.name) return run_reporting_errors(name, [&] { return c.run(args); });
  std::cerr << "anvil: unknown command '" << first << "'\n";
  print_usage(std::cerr);
  return kExitConfig;
}

}  // namespace anvil::core
