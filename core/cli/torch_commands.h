#pragma once
// The commands that compute with tensors (check, train, generate, export, version), in
// their own shared library, anvil-commands.so, so that the `anvil` executable starts without
// LibTorch and loads it only for them: `anvil tokenizer encode` and `anvil data inspect` start
// in milliseconds, not the half second that mapping and initialising libtorch_cpu takes.

#include <string>
#include <vector>

namespace anvil::core {

/// The library's one entry point, a plain-C symbol so that the executable finds it by name.
inline constexpr const char* kTorchCommandSymbol = "anvil_run_torch_command";
/// Its signature: runs command `name` with `args` (those after the name), reporting what it
/// throws as run_reporting_errors does; returns the exit code.
using TorchCommandFn = int (*)(const char* name, const std::vector<std::string>* args);

/// In the executable: runs LibTorch command `name`, loading the library (from
/// <exe>/../lib/anvil/anvil-commands.so) on first use and then giving OpenBLAS, which it
/// brought in, its tuned environment (host/blas_setup.h; this may re-execute the process).
/// Throws anvil::Error when the library is missing or cannot be loaded.
int run_torch_command(const char* name, const std::vector<std::string>& args);

/// In the executable: the process's arguments, which run_torch_command may re-execute with.
void remember_process_arguments(int argc, char** argv);

// The LibTorch commands (one file each), in the library.
int run_version_command(const std::vector<std::string>& args);
int run_check_command(const std::vector<std::string>& args);
int run_train_command(const std::vector<std::string>& args);
int run_export_command(const std::vector<std::string>& args);
int run_generate_command(const std::vector<std::string>& args);

}  // namespace anvil::core
