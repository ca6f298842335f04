#pragma once
// A one-line progress display on stderr: bar, percentage, amount done, rate and ETA, redrawn
// in place on a terminal at most ten times a second, and replaced by occasional plain lines
// when stderr is not a terminal (logs, CI).

#include <chrono>
#include <cstdint>
#include <string>

namespace anvil::core {

class ProgressBar {
 public:
  /// @param label what is being done ("reading corpus").
  /// @param total total amount of work in bytes; 0 when unknown.
  ProgressBar(std::string label, std::uint64_t total);
  /// Records that `done` bytes are done (monotonic).
  void update(std::uint64_t done);
  /// Draws the final state and ends the line.
  void finish();

 private:
  void draw(bool final_line);
  std::string label_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  bool terminal_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// "12.3 MB" (decimal units, as disks and rates are quoted).
std::string format_bytes(double bytes);

/// "1,234,567": a count with thousands separators.
std::string format_count(std::uint64_t count);

}  // namespace anvil::core
