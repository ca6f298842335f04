#pragma once
// The run's metrics as JSON lines (<run>/metrics.jsonl), one object per record:
//   {"event": "train", "step": 10, "loss": 4.21, "lr": 0.0003, ...}
// Events: "train" (every log_every steps), "eval", "summary" (once, at the end), "sample".
// Non-finite values are written as null (JSON has no NaN). Lines are flushed as written, so
// the file can be followed while the run goes on and survives a crash.

#include <anvil/metrics.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace anvil::core {

class MetricsFile final : public MetricsSink {
 public:
  /// Creates (or truncates; with `append`, extends: a resumed run) `path`, making its folder.
  /// Throws anvil::Error naming the file.
  explicit MetricsFile(std::filesystem::path path, bool append = false);

  /// A component's metric: written with the next "train" record (or the next of its step).
  void record(std::string_view name, double value, std::int64_t step) override;

  /// Writes one record: `event`, `step`, then `metrics` in order, then `texts` as strings.
  void write(std::string_view event, std::int64_t step, const Metrics& metrics,
             const std::vector<std::pair<std::string, std::string>>& texts = {});

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  std::vector<std::pair<std::int64_t, Metric>> pending_;
};

}  // namespace anvil::core
