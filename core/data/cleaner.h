#pragma once
// Stage 1 of `anvil data prepare`: make a document well-formed text (valid UTF-8, one Unicode
// normalization form, no control characters, "\n" line breaks) and decide whether it is worth
// training on (configurable quality filters). Thread-safe: one Cleaner serves every worker.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace anvil::core {

enum class Normalization { none, nfc, nfkc };
enum class InvalidUtf8Policy {
  repair,  ///< each invalid byte sequence becomes U+FFFD
  drop,    ///< a document with invalid UTF-8 is rejected
};

/// Parses "none"/"nfc"/"nfkc" and "repair"/"drop"; nullopt for anything else.
std::optional<Normalization> parse_normalization(std::string_view name);
std::optional<InvalidUtf8Policy> parse_invalid_utf8_policy(std::string_view name);

struct CleanOptions {
  Normalization normalize = Normalization::nfc;
  InvalidUtf8Policy invalid_utf8 = InvalidUtf8Policy::repair;
  /// Removes C0/C1 control characters (Unicode category Cc) other than "\n" and "\t".
  bool strip_control = true;
  /// Quality filters; lengths count code points after cleaning. 0 disables a maximum.
  std::size_t min_chars = 1;
  std::size_t max_chars = 0;
  std::size_t min_words = 0;  ///< words are maximal runs of non-whitespace
  /// Largest allowed fraction of code points that are neither letters, numbers, marks nor
  /// whitespace (punctuation, symbols, ...). 1 disables the filter.
  double max_symbol_ratio = 1.0;
  /// Largest allowed fraction of non-blank lines that repeat an earlier line of the same
  /// document (boilerplate, menus, logs). 1 disables the filter.
  double max_repeated_line_ratio = 1.0;
};

/// Why a document was rejected; `kept` when it was not.
enum class Rejection : std::uint8_t {
  kept,
  invalid_utf8,
  too_short,
  too_long,
  too_few_words,
  too_many_symbols,
  repeated_lines,
};
constexpr std::size_t kRejectionCount = 7;

/// "kept", "invalid UTF-8", "too short", "too long", "too few words", "too many symbols",
/// "repeated lines".
std::string_view to_string(Rejection rejection);

/// What clean() did to one document.
struct CleanResult {
  Rejection rejection = Rejection::kept;
  bool repaired_utf8 = false;          ///< invalid sequences were replaced
  std::size_t control_removed = 0;     ///< control characters stripped
  std::size_t chars = 0;               ///< code points after cleaning
};

class Cleaner {
 public:
  explicit Cleaner(CleanOptions options);

  /// Cleans `text` in place, in this order: invalid UTF-8 (repair or reject), "\r\n" and lone
  /// "\r" to "\n", control characters, Unicode normalization, trailing whitespace of every line
  /// and leading/trailing blank lines removed; then the filters, in the order of Rejection.
  /// A rejected document's text is unspecified. `source_invalid_utf8` says that the reader
  /// already replaced invalid UTF-8 with U+FFFD (a JSON string, which must be valid UTF-8 to be
  /// parsed): the document is then repaired or dropped by the same policy and counts.
  CleanResult clean(std::string& text, bool source_invalid_utf8 = false) const;

  const CleanOptions& options() const noexcept { return options_; }

 private:
  CleanOptions options_;
};

/// Replaces each invalid UTF-8 sequence of `text` with U+FFFD (as clean() repairs); true when
/// there was one.
bool repair_invalid_utf8(std::string& text);

/// Counts of a cleaning pass, per rejection reason; summed across workers.
struct CleanCounts {
  std::uint64_t documents = 0;
  std::uint64_t repaired_utf8 = 0;
  std::uint64_t control_removed = 0;
  std::array<std::uint64_t, kRejectionCount> by_reason{};  ///< indexed by Rejection
  void add(const CleanResult& result);
  void add(const CleanCounts& other);
  std::uint64_t kept() const noexcept { return by_reason[0]; }
};

}  // namespace anvil::core
