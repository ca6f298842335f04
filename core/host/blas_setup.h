#pragma once
// Which BLAS does this process's fp32 matmuls, and making it the fast one.
//
// Debian's LibTorch multiplies fp32 matrices through whatever libblas.so.3 resolves to: the
// reference BLAS (about 1 GFLOP/s per core) or OpenBLAS (libopenblas0-pthread, ~50x faster).
// OpenBLAS 0.3.21 also mis-detects recent AVX-512 CPUs (Sapphire Rapids runs its Haswell
// kernels at an eighth of the speed); OPENBLAS_CORETYPE=SkylakeX fixes that, but OpenBLAS reads
// it only while it is loaded, before main(), so ensure_fast_blas() re-executes the binary with it
// set. See docs/performance.md.

#include "host/cpu_features.h"

#include <optional>
#include <string>
#include <string_view>

namespace anvil::core {

struct BlasInfo {
  std::string name;          ///< "OpenBLAS", "MKL", "reference BLAS" or "unknown"
  std::string version;       ///< e.g. "0.3.21"; empty when the library does not say
  std::string core;          ///< OpenBLAS kernel set in use (openblas_get_corename), e.g. "Haswell"
  std::string config;        ///< OpenBLAS build line (openblas_get_config)
  std::string library_path;  ///< resolved file that provides sgemm_, e.g. ".../libblas.so.3"
  int threads = 0;           ///< threads the BLAS runs a product on; 0 when it does not say
  /// OpenBLAS's threading (openblas_get_parallel): "pthreads", "openmp" or "sequential".
  std::string parallel;
  bool fast = true;          ///< false only for a BLAS known to be slow (the reference one)
};

/// The BLAS whose sgemm_ this process calls (what LibTorch's fp32 matmuls use).
BlasInfo blas_info();

/// One line for `anvil --version` and logs, e.g. "OpenBLAS 0.3.21 (core Haswell)" or
/// "reference BLAS /usr/lib/.../libblas.so.3 (slow: install libopenblas0-pthread)".
std::string describe(const BlasInfo& blas);

/// The OPENBLAS_CORETYPE to run OpenBLAS with: "SkylakeX" when `env_coretype` (the variable's
/// current value, or null) is unset, the CPU has usable AVX-512 and `current_core` is not
/// already an AVX-512 kernel set (SkylakeX, CooperLake, SapphireRapids, any case); nullopt
/// otherwise. Never on a CPU without AVX-512: those kernels die there with SIGILL.
std::optional<std::string> openblas_coretype_override(const CpuFeatures& cpu,
                                                      std::string_view current_core,
                                                      const char* env_coretype);

/// The OMP_WAIT_POLICY to run with: "PASSIVE" when `computes` (the command trains), the BLAS
/// is OpenBLAS built with its own pthreads and `env_wait_policy` is unset; nullopt otherwise.
/// Why: LibTorch's OpenMP threads spin for a while after each parallel region, on the very
/// cores OpenBLAS's threads need next; on 2 cores that cost the tiny-dense run a third of its
/// speed (1,448 against 2,209 tokens/s, docs/performance.md). An OpenMP build of OpenBLAS
/// shares LibTorch's threads and needs nothing.
std::optional<std::string> omp_wait_policy_override(const BlasInfo& blas, bool computes,
                                                    const char* env_wait_policy);

/// Call first in main(). Sets what the two functions above ask for (OPENBLAS_CORETYPE for
/// a DYNAMIC_ARCH OpenBLAS; OMP_WAIT_POLICY for `anvil train`), with ANVIL_BLAS_REEXEC=1, and
/// re-executes /proc/self/exe with the same arguments, since both are read while the libraries
/// load, before main(). Returns normally when there is nothing to do, when ANVIL_BLAS_REEXEC is
/// already set (at most one re-exec), when ANVIL_NO_BLAS_TUNING=1, or when exec fails (with a
/// note on stderr).
void ensure_fast_blas(int argc, char** argv);

/// True in a process that ensure_fast_blas() re-executed (ANVIL_BLAS_REEXEC=1).
bool blas_tuned_by_anvil();

}  // namespace anvil::core
