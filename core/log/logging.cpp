#include "log/logging.h"

#include <anvil/errors.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace anvil::core {

namespace {

constexpr const char* kConsolePattern = "[%H:%M:%S.%e] [%^%l%$] %v";
// The file keeps the date: a log file outlives the terminal session that saw the run start.
constexpr const char* kFilePattern = "[%Y-%m-%d %H:%M:%S.%e] [%l] %v";

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return spdlog::level::trace;
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warn: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
  }
  return spdlog::level::off;  // kLogOff
}

// spdlog reports "Failed opening file X for writing: <strerror>"; keep only the reason so our
// own sentence names the file once.
std::string open_failure_reason(const std::string& spdlog_message) {
  const std::string marker = " for writing: ";
  const auto at = spdlog_message.rfind(marker);
  return at == std::string::npos ? spdlog_message : spdlog_message.substr(at + marker.size());
}

std::shared_ptr<spdlog::sinks::sink> open_file_sink(const std::string& log_file) {
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file, /*truncate=*/false);
    sink->set_pattern(kFilePattern);
    return sink;
  } catch (const spdlog::spdlog_ex& e) {
    throw Error("cannot open log file '" + log_file + "' for writing: " +
                    open_failure_reason(e.what()),
                "check that the path names a file in a writable folder");
  }
}

}  // namespace

void setup_logging(LogLevel level, const std::string& log_file) {
  std::vector<spdlog::sink_ptr> sinks;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_pattern(kConsolePattern);
  sinks.push_back(std::move(console));
  if (!log_file.empty()) sinks.push_back(open_file_sink(log_file));

  auto logger = std::make_shared<spdlog::logger>("", sinks.begin(), sinks.end());
  logger->set_level(to_spdlog(level));
  // Warnings and errors usually precede a crash or an exit; make sure they reach the file.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "trace") return LogLevel::trace;
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  if (text == "off") return kLogOff;
  return std::nullopt;
}

SpdLogger::SpdLogger(std::string prefix) : prefix_(std::move(prefix)) {}

void SpdLogger::write(LogLevel level, std::string_view message) {
  if (!enabled(level)) return;
  spdlog::default_logger_raw()->log(to_spdlog(level), "[{}] {}", prefix_, message);
}

bool SpdLogger::enabled(LogLevel level) const {
  // spdlog's should_log(off) is true, but nothing is ever logged "at" off.
  return level != kLogOff && spdlog::default_logger_raw()->should_log(to_spdlog(level));
}

std::unique_ptr<Logger> make_logger(std::string prefix) {
  return std::make_unique<SpdLogger>(std::move(prefix));
}

}  // namespace anvil::core
