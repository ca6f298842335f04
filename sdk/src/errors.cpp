#include <anvil/errors.h>

#include <cstdio>
#include <cstdlib>

namespace anvil {

Error::Error(const std::string& message, std::string hint)
    : std::runtime_error(message), hint_(std::move(hint)) {}
Error::~Error() = default;

namespace {
std::string summarize(const std::vector<Diagnostic>& diagnostics) {
  if (diagnostics.empty()) return "invalid configuration";
  const Diagnostic& d = diagnostics.front();
  std::string text;
  if (!d.file.empty()) {
    text += d.file;
    if (d.line) text += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
    text += ": ";
  }
  if (!d.key.empty()) text += d.key + ": ";
  text += d.message;
  if (diagnostics.size() > 1)
    text += " (and " + std::to_string(diagnostics.size() - 1) + " more)";
  return text;
}
}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : Error(summarize(diagnostics)), diagnostics_(std::move(diagnostics)) {}
ConfigError::~ConfigError() = default;

PluginError::PluginError(std::string plugin, const std::string& message, std::string hint)
    : Error(message, std::move(hint)), plugin_(std::move(plugin)) {}
PluginError::~PluginError() = default;

DataError::~DataError() = default;

namespace detail {

void throw_check_failure(const char* file, int line, const char* condition,
                         const std::string& message) {
  throw Error(std::string(file) + ":" + std::to_string(line) + ": check `" + condition +
              "` failed: " + message);
}

void assert_failure(const char* file, int line, const char* condition,
                    const std::string& message) {
  std::fprintf(stderr, "%s:%d: internal error: assertion `%s` failed: %s\n", file, line, condition,
               message.c_str());
  std::abort();
}

}  // namespace detail
}  // namespace anvil
