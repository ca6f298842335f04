#include <anvil/torch_compat.h>

#include <ATen/autocast_mode.h>

// LibTorch 2.4 replaced the per-device autocast setters with ones taking the device type.
#if ANVIL_TORCH_2 && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 4)
#define ANVIL_AUTOCAST_BY_DEVICE_TYPE 1
#else
#define ANVIL_AUTOCAST_BY_DEVICE_TYPE 0
#endif

namespace anvil {

AutocastState autocast_state(bool cuda) {
  AutocastState state;
#if ANVIL_AUTOCAST_BY_DEVICE_TYPE
  const at::DeviceType type = cuda ? at::kCUDA : at::kCPU;
  state.enabled = at::autocast::is_autocast_enabled(type);
  state.dtype = at::autocast::get_autocast_dtype(type);
#else
  state.enabled = cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
  state.dtype = cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
  return state;
}

void set_autocast_state(bool cuda, const AutocastState& state) {
#if ANVIL_AUTOCAST_BY_DEVICE_TYPE
  const at::DeviceType type = cuda ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(type, state.dtype);
  at::autocast::set_autocast_enabled(type, state.enabled);
#else
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(state.dtype);
    at::autocast::set_enabled(state.enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(state.dtype);
    at::autocast::set_cpu_enabled(state.enabled);
  }
#endif
}

AutocastGuard::AutocastGuard(const AutocastState& cpu, const AutocastState& cuda)
    : previous_cpu_(autocast_state(false)), previous_cuda_(autocast_state(true)) {
  set_autocast_state(false, cpu);
  set_autocast_state(true, cuda);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_state(false, previous_cpu_);
  set_autocast_state(true, previous_cuda_);
}

}  // namespace anvil
