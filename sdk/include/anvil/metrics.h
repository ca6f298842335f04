#pragma once
/// @file metrics.h
/// Where components report scalar metrics (per-expert load, accuracy, ...). The host routes
/// them to the progress line, the JSONL metrics file and the run report.

#include <anvil/export.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anvil {

/// One named scalar.
struct Metric {
  std::string name;  ///< dotted name, e.g. "eval.perplexity"
  double value = 0;  ///< the value
};

/// An ordered list of metrics (order is the order they are shown in).
using Metrics = std::vector<Metric>;

/// Receives metrics from the trainer and from components.
class ANVIL_SDK_API MetricsSink {
 public:
  /// Destroys the sink.
  virtual ~MetricsSink();
  /// Records `value` for `name` at training step `step`.
  virtual void record(std::string_view name, double value, std::int64_t step) = 0;
};

/// A sink that discards everything.
class ANVIL_SDK_API NullMetricsSink final : public MetricsSink {
 public:
  /// Discards the value.
  void record(std::string_view, double, std::int64_t) override {}
};

}  // namespace anvil
