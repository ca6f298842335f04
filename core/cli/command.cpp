#include "cli/command.h"

#include "manifest/diagnostic_printer.h"

#include <anvil/errors.h>

#include <boost/program_options/errors.hpp>
#include <c10/util/Exception.h>

#include <iostream>
#include <string_view>

namespace anvil::core {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"check", "validate a manifest and print the resolved run", run_check_command},
      {"plugins", "list plugins or show one plugin's options", run_plugins_command},
      {"tokenizer", "train a tokenizer; encode or decode text with one", run_tokenizer_command},
      {"data", "prepare token shards from a corpus; inspect a prepared dataset", run_data_command},
      {"train", "train a model from a manifest (prepares its data first when needed)", run_train_command},
      {"generate", "generate text from a checkpoint (prompt from --prompt or stdin)", run_generate_command},
      {"export", "write a checkpoint as a Hugging Face model folder", run_export_command},
      {"version", "print versions of anvil, the SDK ABI, LibTorch, CUDA and NCCL",
       run_version_command},
  };
  return table;
}

namespace {

void print_usage(std::ostream& out) {
  out << "usage: anvil <command> [options]\n"
         "       anvil --version | --help\n\ncommands:\n";
  for (const Command& c : commands())
    out << "  " << c.name << std::string(11 - std::string_view(c.name).size(), ' ') << c.summary
        << "\n";
  out << "\nRun 'anvil <command> --help' for a command's options.\n";
}

void print_hint(const Error& e) {
  if (!e.hint().empty()) std::cerr << "HINT: " << e.hint() << "\n";
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return kExitConfig;
  }
  const std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(std::cout);
    return kExitOk;
  }
  if (first == "--version" || first == "-V") return run_version_command({});
  for (const Command& c : commands()) {
    if (first == c.name) return c.run(std::vector<std::string>(argv + 2, argv + argc));
  }
  std::cerr << "anvil: unknown command '" << first << "'\n";
  print_usage(std::cerr);
  return kExitConfig;
}

}  // namespace

int run_cli(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const ConfigError& e) {
    print_diagnostics(std::cerr, e.diagnostics());
    const auto n = e.diagnostics().size();
    std::cerr << n << (n == 1 ? " error" : " errors") << " generated.\n";
    return e.exit_code();
  } catch (const PluginError& e) {
    std::cerr << "error: " << e.what() << "\n";
    print_hint(e);
    return e.exit_code();
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    print_hint(e);
    return e.exit_code();
  } catch (const boost::program_options::error& e) {
    std::cerr << "error: " << e.what() << "\n";
    std::cerr << "HINT: run 'anvil " << (argc > 1 ? argv[1] : "") << " --help' for usage\n";
    return kExitConfig;
  } catch (const c10::Error& e) {
    // A LibTorch error the core did not attribute: its message without LibTorch's backtrace.
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  } catch (...) {
    std::cerr << "error: an exception not derived from std::exception\n";
    return kExitFailure;
  }
}

}  // namespace anvil::core
