// The host's logging setup: level names, the prefixed SDK logger, and the log file.
#include "log/logging.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using anvil::LogLevel;
using anvil::core::kLogOff;
using anvil::core::make_logger;
using anvil::core::parse_log_level;
using anvil::core::setup_logging;

namespace {

// Routes spdlog's default logger to a string for one test, then restores a quiet setup.
class CapturedLog {
 public:
  explicit CapturedLog(spdlog::level::level_enum level) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
    sink->set_pattern("%l|%v");
    auto logger = std::make_shared<spdlog::logger>("", sink);
    logger->set_level(level);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { setup_logging(LogLevel::warn); }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("anvil-logging-" + std::to_string(::getpid()) + "-" + name);
}

}  // namespace

TEST_CASE("log levels are parsed by name", "[log][loader]") {
  CHECK(parse_log_level("trace") == LogLevel::trace);
  CHECK(parse_log_level("debug") == LogLevel::debug);
  CHECK(parse_log_level("info") == LogLevel::info);
  CHECK(parse_log_level("warn") == LogLevel::warn);
  CHECK(parse_log_level("error") == LogLevel::error);
  CHECK(parse_log_level("off") == kLogOff);
  CHECK_FALSE(parse_log_level("verbose").has_value());
  CHECK_FALSE(parse_log_level("INFO").has_value());
}

TEST_CASE("the SDK logger prefixes messages and follows the level", "[log][loader]") {
  CapturedLog log(spdlog::level::info);
  auto logger = make_logger("optimizer/sgd");
  logger->info("lr {} at step {}", 0.5, 3);
  logger->debug("not shown");
  CHECK(log.text() == "info|[optimizer/sgd] lr 0.5 at step 3\n");
  CHECK(logger->enabled(LogLevel::warn));
  CHECK_FALSE(logger->enabled(LogLevel::debug));
  CHECK_FALSE(logger->enabled(kLogOff));
}

TEST_CASE("setup_logging writes to the log file and honours off", "[log][loader]") {
  const fs::path file = temp_path("run.log");
  setup_logging(LogLevel::info, file.string());
  spdlog::info("hello {}", "file");
  spdlog::debug("filtered");
  spdlog::default_logger()->flush();
  const std::string text = read_file(file);
  CHECK_THAT(text, Catch::Matchers::EndsWith("] [info] hello file\n"));
  CHECK_THAT(text, !Catch::Matchers::Contains("filtered"));

  setup_logging(kLogOff);
  CHECK_FALSE(make_logger("x")->enabled(LogLevel::error));
  setup_logging(LogLevel::warn);
  fs::remove(file);
}

TEST_CASE("a log file that cannot be opened is an error naming it", "[log][loader]") {
  const fs::path blocker = temp_path("not-a-folder");
  std::ofstream(blocker) << "a file where a folder would have to be";
  const fs::path file = blocker / "run.log";
  try {
    setup_logging(LogLevel::info, file.string());
    FAIL("setup_logging did not throw");
  } catch (const anvil::Error& error) {
    CHECK_THAT(error.what(), Catch::Matchers::StartsWith("cannot open log file '" +
                                                         file.string() + "' for writing: "));
    CHECK_FALSE(error.hint().empty());
  }
  fs::remove(blocker);
}
