// The executable's side of the LibTorch commands library (see torch_commands.h).
#include "cli/torch_commands.h"

#include "host/blas_setup.h"

#include <anvil/errors.h>

#include <dlfcn.h>

#include <filesystem>
#include <string>

namespace fs = std::filesystem;

namespace anvil::core {

namespace {

int g_argc = 0;
char** g_argv = nullptr;

fs::path commands_library_path() {
  // Beside the plugins, found from the running executable as installed_plugin_dir() is.
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (error) return ANVIL_COMMANDS_RELATIVE_PATH;
  return (executable.parent_path() / ".." / ANVIL_COMMANDS_RELATIVE_PATH).lexically_normal();
}

TorchCommandFn load_torch_commands() {
  static TorchCommandFn run = nullptr;
  if (run) return run;
  const fs::path path = commands_library_path();
  ::dlerror();
  // RTLD_GLOBAL: LibTorch and the BLAS it brings join the global scope, where blas_setup looks
  // for OpenBLAS and where the architecture plugins loaded later find the same copies.
  void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!library) {
    const char* error = ::dlerror();
    std::string reason = error ? error : "the dynamic loader gave no reason";
    // dlerror() usually starts with the file name, which the message already gives.
    if (reason.rfind(path.string() + ": ", 0) == 0) reason.erase(0, path.string().size() + 2);
    throw Error("cannot load anvil's LibTorch commands library '" + path.string() + "': " + reason,
                "the installation is incomplete or LibTorch is missing: reinstall anvil, or "
                "check `ldd " + path.string() + "`");
  }
  run = reinterpret_cast<TorchCommandFn>(::dlsym(library, kTorchCommandSymbol));
  if (!run)
    throw Error("'" + path.string() + "' does not export " + kTorchCommandSymbol +
                    ": it is not the commands library of this anvil",
                "reinstall anvil");
  return run;
}

}  // namespace

void remember_process_arguments(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
}

int run_torch_command(const char* name, const std::vector<std::string>& args) {
  const TorchCommandFn run = load_torch_commands();
  // Now that OpenBLAS is mapped: re-execute with its tuned kernels and wait policy if it needs
  // them (the re-executed process loads the library again, under that environment).
  ensure_fast_blas(g_argc, g_argv);
  return run(name, &args);
}

}  // namespace anvil::core
