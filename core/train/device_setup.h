#pragma once
// Where and how a run computes: the device from [run] device, CPU threads, deterministic
// kernels and the global random seeds.

#include <anvil/context.h>

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace anvil::core {

/// "auto" (the first GPU when LibTorch sees one, else the CPU), "cpu", "cuda" or "cuda:N".
/// Throws anvil::Error naming [run] device when the GPU asked for is not there.
c10::Device resolve_device(const std::string& spec);

/// Sets LibTorch's intra-op threads (`threads`, 0 = every core), deterministic algorithms,
/// seeds the default generators of the CPU and every GPU, and has glibc keep freed tensor
/// memory for reuse instead of returning it to the kernel after every step.
void configure_runtime(int threads, bool deterministic, std::uint64_t seed);

// A seed for one purpose (data order, sampling) of the run's seed: anvil::derive_seed
// (<anvil/context.h>), which the models use for their initialisation too.

}  // namespace anvil::core
