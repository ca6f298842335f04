#pragma once
// The host's logging backend. The process has one spdlog default logger, configured once by
// setup_logging(); host code logs through spdlog directly, plugins through the SDK's Logger
// facade (SpdLogger), so there is one format, one set of sinks and one level filter.

#include <anvil/log.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace anvil::core {

/// "Log nothing". The SDK's LogLevel has no such level because plugins never need it, so the
/// host uses a value past LogLevel::error as a sentinel: parse_log_level("off") returns it,
/// setup_logging() accepts it, and no message is ever enabled at it.
inline constexpr LogLevel kLogOff = static_cast<LogLevel>(static_cast<int>(LogLevel::error) + 1);

/// Replaces spdlog's default logger with one that writes to stderr (colored,
/// "[HH:MM:SS.mmm] [level] message") and, when `log_file` is not empty, also appends to that
/// file (same format with the date). Messages below `level` are dropped. Call it once, before
/// any thread logs. Throws anvil::Error naming the file when it cannot be opened for writing.
void setup_logging(LogLevel level, const std::string& log_file = "");

/// Parses a level as written on the command line: trace, debug, info, warn, error or off
/// (off gives kLogOff). std::nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text);

/// The SDK Logger handed to a component: writes to spdlog's default logger (whatever it is at
/// the time of the call), each message prefixed with "[<prefix>] ".
class SpdLogger final : public Logger {
 public:
  /// @param prefix usually "<kind>/<name>", e.g. "optimizer/sgd".
  explicit SpdLogger(std::string prefix);
  void write(LogLevel level, std::string_view message) override;
  bool enabled(LogLevel level) const override;
  const std::string& prefix() const noexcept { return prefix_; }

 private:
  std::string prefix_;
};

/// A SpdLogger with `prefix`.
std::unique_ptr<Logger> make_logger(std::string prefix);

}  // namespace anvil::core
