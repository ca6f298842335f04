#pragma once
/// @file torch_compat.h
/// The one place where differences between LibTorch 1.13 (Debian) and 2.x (PyTorch wheels)
/// are bridged. Code elsewhere uses these names and never tests TORCH_VERSION_* itself.

#include <torch/version.h>

/// True when building against LibTorch 2.0 or newer.
#define ANVIL_TORCH_2 (TORCH_VERSION_MAJOR >= 2)

/// True when at::scaled_dot_product_attention (fused / flash attention) exists.
#define ANVIL_HAS_SDPA ANVIL_TORCH_2
