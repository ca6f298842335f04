// `anvil version` / `anvil --version`: what this binary was built with and what it can use,
// i.e. everything a plugin author must match and everything a bug report needs.
#include "cli/torch_commands.h"
#include "cli/run_setup.h"
#include "host/blas_setup.h"
#include "host/cpu_features.h"
#include "host/peak_flops.h"
#include "plugin/host_info.h"
#include "plugin/plugin_host.h"

#include <boost/version.hpp>
#include <torch/cuda.h>
#include <spdlog/version.h>

#include <dlfcn.h>

#include <cstdio>
#include <iostream>
#include <string>

namespace anvil::core {
namespace {

std::string cuda_status() {
  if (!ANVIL_CUDA_BUILD) return "not available (LibTorch built without CUDA)";
  const auto devices = torch::cuda::device_count();
  if (devices == 0) return "built with CUDA, no device visible";
  return "available, " + std::to_string(devices) + (devices == 1 ? " device" : " devices");
}

// NCCL is a runtime dependency of CUDA LibTorch; report the version of the library the
// process can load, since that is what c10d will use.
std::string nccl_status() {
  if (!ANVIL_CUDA_BUILD) return "not available (LibTorch built without CUDA)";
  void* nccl = dlopen("libnccl.so.2", RTLD_LAZY | RTLD_LOCAL);
  if (!nccl) return "not found (libnccl.so.2)";
  using GetVersion = int (*)(int*);
  auto get_version = reinterpret_cast<GetVersion>(dlsym(nccl, "ncclGetVersion"));
  int code = 0;
  if (!get_version || get_version(&code) != 0) return "found (version unknown)";
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return "available, " + std::to_string(code / 10000) + "." + std::to_string(code / 100 % 100) +
         "." + std::to_string(code % 100);
}

std::string blas_status() {
  const BlasInfo blas = blas_info();
  std::string text = describe(blas);
  if (blas_tuned_by_anvil()) text += ", OPENBLAS_CORETYPE set by anvil";
  return text;
}

std::string gflops(double flops_per_second) {
  char text[32];
  std::snprintf(text, sizeof text, flops_per_second < 1e10 ? "%.1f" : "%.0f",
                flops_per_second / 1e9);
  return std::string(text) + " GFLOP/s";
}

// "1024², 2 threads": what a peak was measured on.
std::string peak_conditions(const MatmulPeak& peak, c10::Device device) {
  std::string text = std::to_string(peak.n) + "\u00b2";
  if (device.is_cuda()) return text;
  return text + ", " + std::to_string(peak.threads) + (peak.threads == 1 ? " thread" : " threads");
}

// Measured, not looked up: what MFU divides by on this machine (about half a second on CPU).
std::string peak_status(c10::Device device) {
  const MatmulPeak fp32 = measure_matmul(device, c10::kFloat);
  const MatmulPeak bf16 = measure_matmul(device, c10::kBFloat16);
  std::string text = "fp32 " + gflops(fp32.flops_per_second) + " (" +
                     peak_conditions(fp32, device) + "), bf16 " + gflops(bf16.flops_per_second) +
                     " (" + peak_conditions(bf16, device) + "), square matmul";
  if (device.is_cuda()) text += " on CUDA device " + std::to_string(device.index());
  return text + ", measured now";
}

std::string precision_status(c10::Device device, const CpuFeatures& cpu) {
  const std::string choice = resolve_auto_precision(device, cpu);
  if (device.is_cuda()) return "auto = " + choice + " on CUDA";
  if (choice == "bf16")
    return std::string("auto = bf16 on this CPU (") + (cpu.amx_bf16 ? "AMX-BF16" : "AVX512-BF16") +
           ")";
  return "auto = fp32 on this CPU (bf16 needs AMX or AVX512-BF16)";
}

}  // namespace

int run_version_command(const std::vector<std::string>& args) {
  if (!args.empty()) {
    CommonOptions common;
    boost::program_options::options_description description("version options");
    add_common_options(description, common);
    boost::program_options::variables_map values;
    if (!parse_command_line(args, "anvil version", description, {}, values, common)) return 0;
  }
  const HostInfo& host = host_info();
  const auto line = [](const char* key, const std::string& value) {
    std::cout << "  " << key << std::string(12 - std::string(key).size(), ' ') << value << "\n";
  };
  std::cout << "anvil " << host.sdk_version << "\n";
  line("SDK ABI", std::to_string(host.abi_version) + " (SDK " + std::to_string(host.sdk_major) +
                      "." + std::to_string(host.sdk_minor) + ")");
  line("LibTorch", host.torch_version + (ANVIL_CUDA_BUILD ? " (CUDA build)" : " (CPU build)"));
  line("CUDA", cuda_status());
  line("NCCL", nccl_status());
  line("compiler", host.compiler + ", libstdc++ C++11 ABI " + std::to_string(host.cxx11_abi));
  line("toml++", host.toml_version + (host.toml_exceptions ? " (exceptions)" : " (no exceptions)"));
  line("Boost", std::to_string(BOOST_VERSION / 100000) + "." +
                    std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                    std::to_string(BOOST_VERSION % 100));
  line("spdlog", std::to_string(SPDLOG_VER_MAJOR) + "." + std::to_string(SPDLOG_VER_MINOR) + "." +
                     std::to_string(SPDLOG_VER_PATCH));
  line("plugins", installed_plugin_dir().string());
  const CpuFeatures& cpu = cpu_features();
  const c10::Device device =
      torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  line("CPU", describe(cpu));
  line("BLAS", blas_status());
  line("peak", peak_status(device));
  line("precision", precision_status(device, cpu));
  return 0;
}

}  // namespace anvil::core
