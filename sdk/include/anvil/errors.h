#pragma once
/// @file errors.h
/// Error types shared by the host and plugins, and the ANVIL_CHECK precondition macro.
///
/// Policy (docs/architecture.md): user and configuration errors are thrown as anvil::Error
/// subclasses and reported by the CLI at one place, with a distinct exit code; invariants that
/// mean "bug in Anvil" use ANVIL_ASSERT, which aborts.

#include <anvil/export.h>

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace anvil {

/// Process exit codes used by the `anvil` binary.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  ///< any other error (I/O, data, runtime)
  kExitConfig = 2,   ///< bad manifest, override or command line
  kExitPlugin = 3,   ///< a plugin could not be loaded or failed
};

/// Base of all errors Anvil reports to users: a message and an optional hint saying what to do.
class ANVIL_SDK_API Error : public std::runtime_error {
 public:
  /// @param message a sentence saying what was expected, what was found and where.
  /// @param hint what the user can do about it; printed after "HINT: " when non-empty.
  explicit Error(const std::string& message, std::string hint = {});
  ~Error() override;
  /// The hint, or an empty string.
  const std::string& hint() const noexcept { return hint_; }
  /// The exit code the CLI returns for this error.
  virtual int exit_code() const noexcept { return kExitFailure; }

 private:
  std::string hint_;
};

/// One problem found in a manifest, an override or a plugin's options, with its source position.
struct Diagnostic {
  std::string file;       ///< manifest path, or "--set" for a command-line override
  std::uint32_t line = 0;    ///< 1-based; 0 when unknown
  std::uint32_t column = 0;  ///< 1-based; 0 when unknown
  std::string key;        ///< fully qualified key ("training.steps"), or empty
  std::string message;    ///< what is wrong
  std::string hint;       ///< what to do, or empty
};

/// A manifest (or option table) with one or more problems, all reported together.
class ANVIL_SDK_API ConfigError : public Error {
 public:
  /// @param diagnostics at least one problem.
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  ~ConfigError() override;
  /// Every problem found, in source order where known.
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }
  /// kExitConfig (2).
  int exit_code() const noexcept override { return kExitConfig; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

/// A plugin library that cannot be loaded, or plugin code that failed; names the plugin.
class ANVIL_SDK_API PluginError : public Error {
 public:
  /// @param plugin the library path or component name the error belongs to.
  PluginError(std::string plugin, const std::string& message, std::string hint = {});
  ~PluginError() override;
  /// The plugin this error is about.
  const std::string& plugin() const noexcept { return plugin_; }
  /// kExitPlugin (3).
  int exit_code() const noexcept override { return kExitPlugin; }

 private:
  std::string plugin_;
};

/// Bad input data: missing, truncated or corrupt files, empty corpora, mismatched datasets.
class ANVIL_SDK_API DataError : public Error {
 public:
  /// Same arguments as Error: a message and an optional hint.
  using Error::Error;
  ~DataError() override;
};

namespace detail {
/// Concatenates arguments with operator<< (used by ANVIL_CHECK).
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
/// Builds and throws the Error for a failed ANVIL_CHECK.
[[noreturn]] ANVIL_SDK_API void throw_check_failure(const char* file, int line, const char* condition,
                                                    const std::string& message);
/// Logs and aborts for a failed ANVIL_ASSERT.
[[noreturn]] ANVIL_SDK_API void assert_failure(const char* file, int line, const char* condition,
                                               const std::string& message);
}  // namespace detail

}  // namespace anvil

/// Precondition check at an API boundary: throws anvil::Error "file:line: check `cond` failed:
/// message" when `cond` is false. The message arguments (at least one) are streamed, TORCH_CHECK style.
#define ANVIL_CHECK(cond, ...)                                                              \
  do {                                                                                      \
    if (!(cond))                                                                            \
      ::anvil::detail::throw_check_failure(__FILE__, __LINE__, #cond,                       \
                                           ::anvil::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Invariant that means "bug in Anvil or in a plugin": logs and aborts. Never use on user input.
#define ANVIL_ASSERT(cond, ...)                                                             \
  do {                                                                                      \
    if (!(cond))                                                                            \
      ::anvil::detail::assert_failure(__FILE__, __LINE__, #cond,                            \
                                      ::anvil::detail::concat(__VA_ARGS__)); \
  } while (0)
