#pragma once
/// @file rotary.h
/// Rotary position embeddings (RoPE), rotate-half layout as Llama in Hugging Face: feature i
/// and feature i + head_dim/2 form pair i, turned by position * base^(-2i/head_dim).

#include <anvil/export.h>

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>

namespace anvil::nn {

/// cos and sin of the rotary angles of a run of positions, each [T, 1, head_dim] so that they
/// broadcast over [B, T, H, head_dim].
struct RotaryTables {
  at::Tensor cos;  ///< [T, 1, head_dim]
  at::Tensor sin;  ///< [T, 1, head_dim]
};

/// The tables of positions offset .. offset + length - 1, in options' dtype and device. The
/// angles are computed in float32 (float64 for a float64 model) before the cast, so that
/// bf16 models still get accurate angles at large positions.
ANVIL_SDK_API RotaryTables rotary_tables(std::int64_t head_dim, double base, std::int64_t offset,
                                         std::int64_t length, const at::TensorOptions& options);

/// x rotated by the tables' angles. @param x [B, T, H, head_dim].
ANVIL_SDK_API at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables);

}  // namespace anvil::nn
