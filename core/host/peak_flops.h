#pragma once
// The matmul throughput this machine reaches, measured rather than looked up: the denominator
// of MFU (model FLOPs per second / peak), and the evidence behind `precision = "auto"`.

#include "host/cpu_features.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>

namespace anvil::core {

struct MatmulPeak {
  double flops_per_second = 0;  ///< best of the timed products, 2 n^3 / seconds
  std::int64_t n = 0;           ///< side of the square matrices multiplied
  int threads = 1;              ///< CPU threads of the product: the BLAS's for fp32 and fp64,
                                ///< ATen's intra-op threads otherwise; 1 on CUDA
};

/// Times n x n by n x n matmuls of `dtype` on `device`: n = 1024 on CPU, 4096 on CUDA, halved
/// while one product would take more than half the budget (bf16 without AMX runs at a
/// few GFLOP/s, 0.5 s for one 1024 product). One warm-up, then products until
/// `budget_seconds` is spent (at least one); the best timing counts.
MatmulPeak measure_matmul(c10::Device device, c10::ScalarType dtype, double budget_seconds = 0.25);

/// measure_matmul(...).flops_per_second.
double measure_matmul_peak(c10::Device device, c10::ScalarType dtype, double budget_seconds = 0.25);

/// Whether bf16 matmuls beat fp32 on `device`: always on CUDA; on CPU only with AMX-BF16 or
/// AVX512-BF16 (otherwise oneDNN converts to fp32 and is many times slower than OpenBLAS).
bool bf16_is_fast(c10::Device device, const CpuFeatures& cpu);

/// What `precision = "auto"` means on `device`: "bf16" when bf16_is_fast(), else "fp32".
const char* resolve_auto_precision(c10::Device device, const CpuFeatures& cpu);

}  // namespace anvil::core
