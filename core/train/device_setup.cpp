#include "train/device_setup.h"

#include <anvil/errors.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <malloc.h>

#include <mutex>
#include <thread>

namespace anvil::core {

c10::Device resolve_device(const std::string& spec) {
  const auto gpus = static_cast<std::int64_t>(torch::cuda::device_count());
  if (spec == "auto") return gpus > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    std::int64_t index = 0;
    if (spec.size() > 5) {
      try {
        std::size_t used = 0;
        index = std::stoll(spec.substr(5), &used);
        if (used != spec.size() - 5 || index < 0) throw std::invalid_argument(spec);
      } catch (const std::exception&) {
        throw Error("[run] device = \"" + spec + "\" is not a device", "use auto, cpu, cuda or cuda:N");
      }
    }
    if (gpus == 0)
      throw Error("[run] device = \"" + spec + "\" but no GPU is visible" +
                      (torch::cuda::is_available() ? "" : " (this LibTorch has no CUDA support)"),
                  "use device = \"cpu\" or \"auto\"");
    if (index >= gpus)
      throw Error("[run] device = \"" + spec + "\" but only " + std::to_string(gpus) +
                      " GPU(s) are visible", "use cuda:0 .. cuda:" + std::to_string(gpus - 1));
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error("[run] device = \"" + spec + "\" is not a device", "use auto, cpu, cuda or cuda:N");
}

void configure_runtime(int threads, bool deterministic, std::uint64_t seed) {
  // glibc serves blocks above its mmap threshold with fresh mmaps and returns freed heap above
  // the trim threshold to the kernel, so every step's activations were faulted in (and zeroed)
  // anew: 18 s of 35 s was system time on the tiny-dense run. Keeping up to 32 MB blocks on the
  // heap and 1 GB of free heap cut that to 11 s and raised throughput from 2,654 to 3,198
  // tokens/s (docs/benchmarks.md).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads > 0 ? threads : cores);
  at::globalContext().setDeterministicAlgorithms(deterministic, /*warn_only=*/false);
  {
    at::CPUGeneratorImpl* generator = at::detail::getDefaultCPUGenerator().get<at::CPUGeneratorImpl>();
    std::lock_guard<std::mutex> lock(generator->mutex_);
    generator->set_current_seed(seed);
  }
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(torch::cuda::device_count()); ++i) {
    at::Generator generator = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_current_seed(seed);
  }
}

}  // namespace anvil::core
