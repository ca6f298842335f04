#pragma once
// What the CPU can run, as far as the choice of matmul kernels is concerned: which BLAS core
// to ask OpenBLAS for (blas_setup.h) and whether bf16 is worth it (peak_flops.h). Read from
// CPUID, with XGETBV for what the OS enabled: a CPU that has AVX-512 in a VM or kernel that
// does not save the ZMM registers must be treated as having none.

#include <string>

namespace anvil::core {

struct CpuFeatures {
  std::string vendor;      ///< e.g. "GenuineIntel", "AuthenticAMD"; empty off x86
  std::string model_name;  ///< brand string, e.g. "AMD EPYC 7B13"; trimmed
  bool avx2 = false;         ///< AVX2, with the OS saving YMM state
  bool fma = false;          ///< FMA3, with the OS saving YMM state
  bool avx512 = false;       ///< AVX-512 F+BW+VL+DQ, with the OS saving opmask and ZMM state
  bool avx512_bf16 = false;  ///< AVX512_BF16 (Cooper Lake, Sapphire Rapids, Zen 4), usable
  bool amx_bf16 = false;     ///< AMX-BF16 tiles (Sapphire Rapids), with the OS saving tile state
};

/// This machine's features (read once).
const CpuFeatures& cpu_features();

/// One line for `anvil --version` and logs, e.g. "AMD EPYC 7B13 (AVX2, FMA)".
std::string describe(const CpuFeatures& cpu);

}  // namespace anvil::core
