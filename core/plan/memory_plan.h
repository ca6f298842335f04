#pragma once
// The memory plan `anvil check` prints: what a training run needs on each rank (weights,
// gradients, optimizer state, weight copies, activations) without replicated data parallelism
// and with ZeRO-1, -2 and -3 sharding, from the architecture's footprint (anvil/footprint.h),
// the optimizer's state size and the run's batch shape; and the decode cache per token.

#include <anvil/footprint.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace anvil::core {

/// What a plan is computed from.
struct MemoryPlanInput {
  ModelFootprint model;
  std::int64_t ranks = 1;                    ///< data-parallel processes
  std::int64_t micro_batch_size = 1;         ///< sequences per forward pass on a rank
  std::int64_t seq_len = 1;                  ///< tokens per sequence
  std::int64_t vocab_size = 0;               ///< for the summary line
  double weight_bytes = 4;                   ///< bytes per master weight (and per gradient)
  double optimizer_bytes_per_parameter = 0;  ///< the optimizer's state per weight
  std::string precision;                     ///< e.g. "bf16 autocast over fp32 weights"
  std::string optimizer;                     ///< the optimizer plugin's name
  bool activation_checkpointing = false;     ///< for the summary line
  double device_memory = 0;                  ///< bytes of one device; 0 when unknown
  std::string device_memory_source;          ///< where device_memory comes from
};

/// Bytes on each rank under one way of sharding.
struct MemoryColumn {
  std::string name;          ///< "replicated", "ZeRO-1", "ZeRO-2", "ZeRO-3" (or "1 rank")
  double weights = 0;
  double gradients = 0;
  double optimizer = 0;
  double weight_copies = 0;
  double activations = 0;
  double total() const { return weights + gradients + optimizer + weight_copies + activations; }
};

/// A named amount of memory.
struct NamedBytes {
  std::string name;
  double bytes = 0;
};

/// The plan: one column per sharding (only "1 rank" when ranks == 1), the activation parts
/// for one micro-batch, and the decode cache.
struct MemoryPlan {
  std::vector<MemoryColumn> columns;
  std::vector<NamedBytes> activations;  ///< the parts, for one micro-batch
  double kv_cache_per_token = 0;
  double kv_cache_per_sequence = 0;         ///< for one seq_len-token sequence
};

/// Computes the plan. ZeRO-1 shards the optimizer state over the ranks, ZeRO-2 the gradients
/// too, ZeRO-3 the weights too, each rank then holding the block it computes and the next one
/// (gathered ahead) in full, and one block's full gradients before they are reduce-scattered.
MemoryPlan plan_memory(const MemoryPlanInput& input);

/// Writes the plan as a table with the summary lines around it.
void print_memory_plan(const MemoryPlanInput& input, const MemoryPlan& plan, std::ostream& out);

/// "1.50 GiB", "320 MiB", "12.0 KiB": binary units, three significant digits.
std::string format_binary_bytes(double bytes);

}  // namespace anvil::core
