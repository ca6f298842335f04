#pragma once
/// @file context.h
/// What a component's factory learns about the run it is created for.

#include <anvil/export.h>
#include <anvil/log.h>
#include <anvil/metrics.h>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>

namespace anvil {

/// The run a component is created for. The host fills it; factories read it and may keep
/// a copy. The logger and metrics sink outlive every component.
struct RunContext {
  c10::Device device = c10::Device(c10::kCPU);  ///< where the model and its state live
  c10::ScalarType param_dtype = c10::kFloat;    ///< dtype of master parameters
  int rank = 0;                                 ///< this process's rank in the job
  int world_size = 1;                           ///< number of processes in the job
  int local_rank = 0;                           ///< rank on this node (selects the GPU)
  std::uint64_t seed = 0;                       ///< the run's seed; derive, do not reuse
  std::int64_t vocab_size = 0;                  ///< the run's tokenizer vocabulary size; 0 if not known yet
  std::filesystem::path run_dir;                ///< the run's output folder (may be empty)
  Logger* logger = nullptr;                     ///< prefixed with the component's name
  MetricsSink* metrics = nullptr;               ///< prefixed with the component's name

  /// The logger, or a silent one when none was set.
  ANVIL_SDK_API Logger& log() const;
  /// The metrics sink, or a discarding one when none was set.
  ANVIL_SDK_API MetricsSink& sink() const;
};

/// A seed for one use of the run's seed (SplitMix64 of run_seed + golden ratio * (purpose + 1)):
/// nearby seeds and purposes give unrelated streams. The host uses purposes 1 (data order) and
/// 2 (sampling); a model's initialisation uses 0.
ANVIL_SDK_API std::uint64_t derive_seed(std::uint64_t run_seed, std::uint64_t purpose);

}  // namespace anvil
