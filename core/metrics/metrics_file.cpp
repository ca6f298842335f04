#include "metrics/metrics_file.h"

#include <anvil/errors.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

namespace anvil::core {

MetricsFile::MetricsFile(std::filesystem::path path, bool append) : path_(std::move(path)) {
  std::error_code error;
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), error);
  out_.open(path_, append ? std::ios::app : std::ios::trunc);
  if (!out_)
    throw Error("cannot write the metrics file " + path_.string() + ": " + std::strerror(errno),
                "check that [run] out_dir is writable");
}

void MetricsFile::record(std::string_view name, double value, std::int64_t step) {
  pending_.emplace_back(step, Metric{std::string(name), value});
}

void MetricsFile::write(std::string_view event, std::int64_t step, const Metrics& metrics,
                        const std::vector<std::pair<std::string, std::string>>& texts) {
  nlohmann::ordered_json line;
  line["event"] = event;
  line["step"] = step;
  const auto put = [&](const Metric& metric) {
    if (std::isfinite(metric.value)) line[metric.name] = metric.value;
    else line[metric.name] = nullptr;
  };
  for (const Metric& metric : metrics) put(metric);
  if (event == "train") {
    // Component metrics of this step or earlier ones belong with this record.
    std::vector<std::pair<std::int64_t, Metric>> later;
    for (auto& [at, metric] : pending_) {
      if (at <= step) put(metric);
      else later.emplace_back(at, std::move(metric));
    }
    pending_ = std::move(later);
  }
  for (const auto& [key, text] : texts) line[key] = text;
  // Replace invalid UTF-8 (a sample can cut a character in half) instead of throwing.
  out_ << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_.flush();
  if (!out_) throw Error("cannot write the metrics file " + path_.string() + " (disk full?)");
}

}  // namespace anvil::core
