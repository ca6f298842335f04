#pragma once
/// @file torch_compat.h
/// The one place where differences between LibTorch 1.13 (Debian) and 2.x (PyTorch wheels)
/// are bridged. Code elsewhere uses these names and never tests TORCH_VERSION_* itself.

#include <torch/version.h>

/// True when building against LibTorch 2.0 or newer.
#define ANVIL_TORCH_2 (TORCH_VERSION_MAJOR >= 2)

/// True when at::scaled_dot_product_attention (fused / flash attention) exists.
#define ANVIL_HAS_SDPA ANVIL_TORCH_2

#include <anvil/export.h>

#include <c10/core/ScalarType.h>

namespace anvil {

/// Autocast's setting for one device type (the CPU or CUDA GPUs) on the calling thread.
struct AutocastState {
  bool enabled = false;
  c10::ScalarType dtype = c10::kBFloat16;  ///< what eligible ops compute in when enabled
};

/// The calling thread's autocast setting for CUDA (`cuda`) or the CPU.
ANVIL_SDK_API AutocastState autocast_state(bool cuda);
/// Sets the calling thread's autocast for CUDA (`cuda`) or the CPU.
ANVIL_SDK_API void set_autocast_state(bool cuda, const AutocastState& state);

/// Sets autocast for the CPU and for CUDA for its lifetime, as torch.autocast does: leaving
/// the outermost one drops autocast's cached casts of the weights, which are stale once an
/// optimizer updates them. Recomputation in backward (activation checkpointing) uses it to
/// run in the precision its forward pass ran in.
class ANVIL_SDK_API AutocastGuard {
 public:
  AutocastGuard(const AutocastState& cpu, const AutocastState& cuda);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  AutocastState previous_cpu_;
  AutocastState previous_cuda_;
};

}  // namespace anvil
