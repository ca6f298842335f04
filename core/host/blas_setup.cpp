#include "host/blas_setup.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

namespace anvil::core {
namespace {

constexpr const char* kReexecGuard = "ANVIL_BLAS_REEXEC";
constexpr const char* kOptOut = "ANVIL_NO_BLAS_TUNING";
constexpr const char* kCoretype = "OPENBLAS_CORETYPE";
constexpr const char* kWaitPolicy = "OMP_WAIT_POLICY";

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool env_is_set(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::strcmp(value, "0") != 0;
}

// "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64" -> "0.3.21".
std::string second_word(const std::string& text) {
  const auto start = text.find(' ');
  if (start == std::string::npos) return {};
  const auto end = text.find(' ', start + 1);
  return text.substr(start + 1, end == std::string::npos ? std::string::npos : end - start - 1);
}

// Symbols are looked up in the scope of the library that provides sgemm_ (it and its
// dependencies), not globally: with the reference libblas.so.3 and OpenBLAS's liblapack.so.3,
// OpenBLAS is loaded too, but it is not what does the matmuls.
void* symbol_near(void* library, const char* name) {
  return library ? dlsym(library, name) : dlsym(RTLD_DEFAULT, name);
}

}  // namespace

BlasInfo blas_info() {
  BlasInfo blas;
  void* library = nullptr;
  if (void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_")) {
    Dl_info where{};
    if (dladdr(sgemm, &where) && where.dli_fname) {
      std::error_code error;
      const auto resolved = std::filesystem::canonical(where.dli_fname, error);
      blas.library_path = error ? where.dli_fname : resolved.string();
      // RTLD_NOLOAD: a handle to the copy already mapped, never a second load.
      library = dlopen(where.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    }
  }

  using GetText = const char* (*)();
  if (auto get_config = reinterpret_cast<GetText>(symbol_near(library, "openblas_get_config"))) {
    blas.name = "OpenBLAS";
    blas.config = get_config() ? get_config() : "";
    blas.version = second_word(blas.config);
    auto get_core = reinterpret_cast<GetText>(symbol_near(library, "openblas_get_corename"));
    if (get_core && get_core()) blas.core = get_core();
    using GetInt = int (*)();
    auto get_threads = reinterpret_cast<GetInt>(symbol_near(library, "openblas_get_num_threads"));
    if (get_threads) blas.threads = get_threads();
    auto get_parallel = reinterpret_cast<GetInt>(symbol_near(library, "openblas_get_parallel"));
    if (get_parallel) {
      const int parallel = get_parallel();  // 0 sequential, 1 pthreads, 2 OpenMP
      blas.parallel = parallel == 1 ? "pthreads" : parallel == 2 ? "openmp" : "sequential";
    }
  } else if (auto get_mkl = reinterpret_cast<void (*)(char*, int)>(
                 symbol_near(library, "mkl_get_version_string"))) {
    char text[256] = {};
    get_mkl(text, sizeof text - 1);
    blas.name = "MKL";
    blas.version = text;
    using GetInt = int (*)();
    auto get_threads = reinterpret_cast<GetInt>(symbol_near(library, "mkl_get_max_threads"));
    if (get_threads) blas.threads = get_threads();
  } else if (std::filesystem::path(blas.library_path).parent_path().filename() == "blas") {
    // Debian and Ubuntu install the netlib reference BLAS as .../blas/libblas.so.3 (one of the
    // alternatives for libblas.so.3); it has no version query.
    blas.name = "reference BLAS";
    blas.fast = false;
  } else {
    blas.name = "unknown";
  }
  if (library) dlclose(library);  // drops the reference NOLOAD took; the library stays
  return blas;
}

std::string describe(const BlasInfo& blas) {
  if (blas.name == "reference BLAS")
    return "reference BLAS " + blas.library_path +
           " (slow: install libopenblas0-pthread, see docs/performance.md)";
  std::string text = blas.name;
  if (!blas.version.empty()) text += " " + blas.version;
  if (!blas.core.empty()) text += " (core " + blas.core + ")";
  if (blas.name == "unknown" && !blas.library_path.empty()) text += " " + blas.library_path;
  if (blas.name == "unknown" && blas.library_path.empty()) text += " (no sgemm_ loaded)";
  return text;
}

std::optional<std::string> openblas_coretype_override(const CpuFeatures& cpu,
                                                      std::string_view current_core,
                                                      const char* env_coretype) {
  if (env_coretype && *env_coretype) return std::nullopt;  // the user's choice wins
  if (!cpu.avx512) return std::nullopt;
  for (const char* avx512_core : {"SkylakeX", "CooperLake", "SapphireRapids"})
    if (equals_ignoring_case(current_core, avx512_core)) return std::nullopt;
  return std::string("SkylakeX");
}

std::optional<std::string> omp_wait_policy_override(const BlasInfo& blas, bool computes,
                                                    const char* env_wait_policy) {
  if (env_wait_policy && *env_wait_policy) return std::nullopt;
  if (!computes || blas.name != "OpenBLAS" || blas.parallel != "pthreads") return std::nullopt;
  return std::string("PASSIVE");
}

void ensure_fast_blas(int argc, char** argv) {
  if (argc < 1 || !argv || !argv[0]) return;
  if (env_is_set(kReexecGuard) || env_is_set(kOptOut)) return;
  const BlasInfo blas = blas_info();
  // Only a DYNAMIC_ARCH build picks its kernels at load time; any other build has one set.
  std::optional<std::string> core;
  if (blas.name == "OpenBLAS" && blas.config.find("DYNAMIC_ARCH") != std::string::npos)
    core = openblas_coretype_override(cpu_features(), blas.core, std::getenv(kCoretype));
  const bool computes = argc > 1 && std::strcmp(argv[1], "train") == 0;
  const std::optional<std::string> wait = omp_wait_policy_override(blas, computes, std::getenv(kWaitPolicy));
  if (!core && !wait) return;
  if (core) setenv(kCoretype, core->c_str(), 1);
  if (wait) setenv(kWaitPolicy, wait->c_str(), 1);
  setenv(kReexecGuard, "1", 1);
  execv("/proc/self/exe", argv);
  // Still here: exec failed (no /proc, say). Run on with what the libraries picked.
  const int error = errno;
  std::cerr << "anvil: note: could not re-execute with a tuned BLAS environment ("
            << std::strerror(error) << "); set" << (core ? " " + std::string(kCoretype) + "=" + *core : "")
            << (wait ? " " + std::string(kWaitPolicy) + "=" + *wait : "")
            << " before starting anvil for faster matmuls.\n";
  if (core) unsetenv(kCoretype);
  if (wait) unsetenv(kWaitPolicy);
  unsetenv(kReexecGuard);
}

bool blas_tuned_by_anvil() { return env_is_set(kReexecGuard) && std::getenv(kCoretype); }

}  // namespace anvil::core
