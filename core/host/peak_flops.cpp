#include "host/peak_flops.h"

#include "host/blas_setup.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>

namespace anvil::core {
namespace {

using Clock = std::chrono::steady_clock;

void wait_for(c10::Device device) {
  // CUDA kernels run asynchronously: without the sync the clock measures the launch only.
  if (ANVIL_CUDA_BUILD && device.is_cuda()) torch::cuda::synchronize(device.index());
}

// Seconds for one a x a matmul (after the inputs exist).
double time_matmul(const at::Tensor& a, c10::Device device) {
  wait_for(device);
  const auto start = Clock::now();
  const at::Tensor c = at::mm(a, a);
  wait_for(device);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Constant values: a matmul's speed does not depend on them, and the run's random generators
// stay untouched (a checkpoint's generator states must not depend on how long this took).
at::Tensor square(std::int64_t n, c10::Device device, c10::ScalarType dtype) {
  return at::full({n, n}, 0.5, at::TensorOptions().device(device).dtype(dtype));
}

double flops(std::int64_t n) { return 2.0 * static_cast<double>(n) * n * n; }

}  // namespace

MatmulPeak measure_matmul(c10::Device device, c10::ScalarType dtype, double budget_seconds) {
  MatmulPeak peak;
  // LibTorch hands fp32/fp64 products on CPU to the BLAS, whose thread pool is its own
  // (OpenBLAS's is not ATen's: at::set_num_threads does not reach it); the rest run in ATen.
  const bool blas_product = dtype == c10::kFloat || dtype == c10::kDouble;
  const int blas_threads = blas_product ? blas_info().threads : 0;
  peak.threads = device.is_cuda() ? 1 : blas_threads > 0 ? blas_threads : at::get_num_threads();
  const std::int64_t target = device.is_cuda() ? 4096 : 1024;

  // Quarter-size products first: the first starts thread pools and JIT-compiles kernels, the
  // second's rate predicts what the full size would cost.
  const std::int64_t probe = target / 4;
  const at::Tensor small = square(probe, device, dtype);
  time_matmul(small, device);
  const double probe_seconds = time_matmul(small, device);
  const double probe_rate = flops(probe) / std::max(probe_seconds, 1e-9);
  peak.n = target;
  while (peak.n > probe && flops(peak.n) / probe_rate > budget_seconds / 2) peak.n /= 2;

  const at::Tensor a = square(peak.n, device, dtype);
  time_matmul(a, device);  // warm-up at the measured size (caches, allocator)
  double best = 1e30;
  const auto start = Clock::now();
  do {
    best = std::min(best, time_matmul(a, device));
  } while (std::chrono::duration<double>(Clock::now() - start).count() < budget_seconds);
  peak.flops_per_second = flops(peak.n) / std::max(best, 1e-9);
  return peak;
}

double measure_matmul_peak(c10::Device device, c10::ScalarType dtype, double budget_seconds) {
  return measure_matmul(device, dtype, budget_seconds).flops_per_second;
}

bool bf16_is_fast(c10::Device device, const CpuFeatures& cpu) {
  if (device.is_cuda()) return true;
  return cpu.amx_bf16 || cpu.avx512_bf16;
}

const char* resolve_auto_precision(c10::Device device, const CpuFeatures& cpu) {
  return bf16_is_fast(device, cpu) ? "bf16" : "fp32";
}

}  // namespace anvil::core
