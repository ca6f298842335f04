#pragma once
/// @file log.h
/// The logger facade plugins write through. The host owns the logging backend (spdlog);
/// plugins never touch it directly, so there is one sink, one format and one level filter.

#include <anvil/export.h>

#include <fmt/format.h>

#include <string_view>
#include <utility>

namespace anvil {

/// Severity of a log message, lowest first.
enum class LogLevel { trace, debug, info, warn, error };

/// A named logger provided by the host. Messages are prefixed with the component's name.
class ANVIL_SDK_API Logger {
 public:
  /// Destroys the logger.
  virtual ~Logger();
  /// Writes one message (already formatted) at `level`.
  virtual void write(LogLevel level, std::string_view message) = 0;
  /// True when messages at `level` would be written (skip expensive formatting otherwise).
  virtual bool enabled(LogLevel level) const = 0;

  /// fmt-style helpers: log.info("loaded {} merges", n).
  template <class... Args>
  void trace(fmt::format_string<Args...> format, Args&&... args) {
    emit(LogLevel::trace, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) {
    emit(LogLevel::debug, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) {
    emit(LogLevel::info, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    emit(LogLevel::warn, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) {
    emit(LogLevel::error, format, std::forward<Args>(args)...);
  }

 private:
  template <class... Args>
  void emit(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(level)) write(level, fmt::format(format, std::forward<Args>(args)...));
  }
};

/// A logger that drops everything; the default in tests and tools that need no output.
class ANVIL_SDK_API NullLogger final : public Logger {
 public:
  /// Discards the message.
  void write(LogLevel, std::string_view) override {}
  /// Always false: nothing is ever formatted.
  bool enabled(LogLevel) const override { return false; }
};

}  // namespace anvil
