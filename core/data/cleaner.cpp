#include "data/cleaner.h"

#include <anvil/errors.h>
#include <utf8proc.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace anvil::core {
namespace {

constexpr std::size_t kNpos = std::string::npos;
constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

/// What the filters need to know about a code point.
enum class CharClass : std::uint8_t {
  word,     ///< letter, number or mark
  space,    ///< ASCII whitespace or Unicode Zs
  symbol,   ///< anything else: punctuation, symbols, controls, ...
};

/// ASCII needs no utf8proc look-up; this table is what the Unicode categories say for it.
constexpr std::array<CharClass, 128> make_ascii_classes() {
  std::array<CharClass, 128> classes{};
  for (int c = 0; c < 128; ++c) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    const bool space = c == ' ' || (c >= '\t' && c <= '\r');
    classes[c] = alnum ? CharClass::word : space ? CharClass::space : CharClass::symbol;
  }
  return classes;
}
constexpr std::array<CharClass, 128> kAsciiClasses = make_ascii_classes();

bool is_ascii_control(unsigned char c) { return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7F; }

CharClass classify(utf8proc_int32_t code_point) {
  if (code_point < 0x80) return kAsciiClasses[code_point];
  const utf8proc_category_t category = utf8proc_category(code_point);
  if (category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_NO) return CharClass::word;
  return category == UTF8PROC_CATEGORY_ZS ? CharClass::space : CharClass::symbol;
}

/// Decodes the code point at `i` of text known to be valid UTF-8; returns its length in bytes.
std::size_t decode(const char* text, std::size_t size, std::size_t i,
                   utf8proc_int32_t& code_point) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text);
  return static_cast<std::size_t>(
      utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(size - i), &code_point));
}

/// Bytes of the invalid sequence at `p` that one U+FFFD replaces: the "maximal subpart" of
/// Unicode 3.9 (Table 3-7), so a truncated sequence costs one U+FFFD, not one per byte, and a
/// byte that cannot continue it is left for the next character.
std::size_t invalid_sequence_length(const unsigned char* p, std::size_t available) {
  const unsigned char lead = p[0];
  std::size_t total = 0;
  unsigned char low = 0x80, high = 0xBF;  // range of the second byte; later ones are 80..BF
  if (lead >= 0xC2 && lead <= 0xDF) {
    total = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    total = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    total = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 1;
  }
  std::size_t length = 1;
  while (length < total && length < available && p[length] >= low && p[length] <= high) {
    ++length;
    low = 0x80;
    high = 0xBF;
  }
  return length;
}

/// What one vectorizable pass over the bytes tells: typical English text is ASCII without
/// control characters, and then validation, control stripping and normalization are skipped.
struct ByteScan {
  bool non_ascii = false;
  bool control = false;  ///< an ASCII control character other than "\n" and "\t" ("\r" too)
};

ByteScan scan_bytes(std::string_view text) {
  unsigned char high = 0, control = 0;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    high |= c;
    // Bitwise, not short-circuit, operators let the compiler vectorize the loop.
    control |= static_cast<unsigned char>(((c < 0x20) & (c != '\n') & (c != '\t')) | (c == 0x7F));
  }
  return {high >= 0x80, control != 0};
}

struct Utf8Scan {
  std::size_t first_invalid = kNpos;
  bool control = false;  ///< a C1 control character
};

Utf8Scan scan_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  Utf8Scan scan;
  for (std::size_t i = 0; i < text.size();) {
    if (bytes[i] < 0x80) {
      ++i;
      continue;
    }
    utf8proc_int32_t code_point;
    const utf8proc_ssize_t length =
        utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(text.size() - i), &code_point);
    if (length < 0) {
      if (scan.first_invalid == kNpos) scan.first_invalid = i;
      i += invalid_sequence_length(bytes + i, text.size() - i);
      continue;
    }
    // Category Cc is closed by Unicode's stability policy: beyond ASCII it is U+0080..U+009F.
    scan.control = scan.control || code_point <= 0x9F;
    i += static_cast<std::size_t>(length);
  }
  return scan;
}

void repair_utf8(std::string& text, std::size_t first_invalid) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  std::string repaired;
  repaired.reserve(text.size() + 16);
  repaired.append(text, 0, first_invalid);
  for (std::size_t i = first_invalid; i < text.size();) {
    if (bytes[i] < 0x80) {
      repaired.push_back(text[i++]);
      continue;
    }
    utf8proc_int32_t code_point;
    const utf8proc_ssize_t length =
        utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(text.size() - i), &code_point);
    if (length < 0) {
      repaired.append(kReplacementCharacter);
      i += invalid_sequence_length(bytes + i, text.size() - i);
    } else {
      repaired.append(text, i, static_cast<std::size_t>(length));
      i += static_cast<std::size_t>(length);
    }
  }
  text.swap(repaired);
}

// The in-place passes below work on a raw pointer and return the new size: a char store
// through std::string may alias the string's own pointer and size, which would then be
// reloaded on every byte.

std::size_t normalize_line_breaks(char* text, std::size_t size) {
  const auto* first = static_cast<const char*>(std::memchr(text, '\r', size));
  if (first == nullptr) return size;
  std::size_t out = static_cast<std::size_t>(first - text);
  for (std::size_t i = out; i < size; ++i) {
    if (text[i] != '\r') {
      text[out++] = text[i];
      continue;
    }
    text[out++] = '\n';
    if (i + 1 < size && text[i + 1] == '\n') ++i;
  }
  return out;
}

/// Removes category Cc except "\n" and "\t"; `removed` counts the code points that went.
std::size_t strip_control_characters(char* text, std::size_t size, std::size_t& removed) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < size;) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (is_ascii_control(c)) {
        ++removed;
      } else {
        text[out++] = text[i];
      }
      ++i;
      continue;
    }
    utf8proc_int32_t code_point;
    const std::size_t length = decode(text, size, i, code_point);
    if (utf8proc_category(code_point) == UTF8PROC_CATEGORY_CC) {
      ++removed;
    } else {
      std::memmove(text + out, text + i, length);
      out += length;
    }
    i += length;
  }
  return out;
}

std::size_t find_non_ascii(std::string_view text, std::size_t from) {
  for (std::size_t i = from; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) >= 0x80) return i;
  }
  return kNpos;
}

std::size_t find_ascii(std::string_view text, std::size_t from) {
  for (std::size_t i = from; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) < 0x80) return i;
  }
  return text.size();
}

void append_normalized(std::string& out, std::string_view segment, utf8proc_option_t options) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(segment.data()),
                   static_cast<utf8proc_ssize_t>(segment.size()), &mapped, options);
  const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  if (length < 0) {
    throw Error(std::string("Unicode normalization of a document failed: ") +
                utf8proc_errmsg(length));
  }
  out.append(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(length));
}

/// Normalizes only the non-ASCII runs, each with the ASCII character before it (which combining
/// marks may compose with): an ASCII character is a starter that never composes with what
/// precedes it, so the text can be cut before one without changing the NFC/NFKC result, and
/// mostly-English text skips utf8proc almost entirely.
void normalize_unicode(std::string& text, Normalization form) {
  if (form == Normalization::none) return;
  std::size_t next = find_non_ascii(text, 0);
  if (next == kNpos) return;
  const auto options = static_cast<utf8proc_option_t>(
      UTF8PROC_STABLE | UTF8PROC_COMPOSE | (form == Normalization::nfkc ? UTF8PROC_COMPAT : 0));
  std::string normalized;
  normalized.reserve(text.size() + text.size() / 8);
  std::size_t copied = 0;
  const std::string_view view = text;
  while (next != kNpos) {
    const std::size_t begin = next > copied ? next - 1 : next;
    const std::size_t end = find_ascii(view, next);
    normalized.append(view.substr(copied, begin - copied));
    append_normalized(normalized, view.substr(begin, end - begin), options);
    copied = end;
    next = find_non_ascii(view, end);
  }
  normalized.append(view.substr(copied));
  text.swap(normalized);
}

/// End of [begin, end) without its trailing whitespace. The text is valid UTF-8 here, so a
/// code point starts at the first byte back that is not a continuation byte.
std::size_t trimmed_line_end(const char* text, std::size_t begin, std::size_t end) {
  while (end > begin) {
    std::size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    utf8proc_int32_t code_point = static_cast<unsigned char>(text[start]);
    if (code_point >= 0x80) decode(text, end, start, code_point);
    if (classify(code_point) != CharClass::space) break;
    end = start;
  }
  return end;
}

/// Drops the trailing whitespace of every line and the blank lines at both ends. Works line by
/// line (memchr, then a backward look at the line's end) and moves bytes only once something
/// was dropped.
std::size_t trim_lines(char* text, std::size_t size) {
  std::size_t out = 0;
  std::size_t breaks = 0;  // line breaks owed before the next non-blank line
  for (std::size_t begin = 0;;) {
    const auto* newline = static_cast<const char*>(std::memchr(text + begin, '\n', size - begin));
    const std::size_t end = newline != nullptr ? static_cast<std::size_t>(newline - text) : size;
    const std::size_t kept_end = trimmed_line_end(text, begin, end);
    if (kept_end > begin) {
      if (out > 0) {  // leading blank lines owe nothing
        std::memset(text + out, '\n', breaks);
        out += breaks;
      }
      if (out != begin) std::memmove(text + out, text + begin, kept_end - begin);
      out += kept_end - begin;
      breaks = 0;
    }
    if (newline == nullptr) return out;
    ++breaks;
    begin = end + 1;
  }
}

struct TextStats {
  std::size_t chars = 0;
  std::size_t words = 0;
  std::size_t symbols = 0;
};

std::size_t count_code_points(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

void count_words_and_symbols(std::string_view text, TextStats& stats) {
  bool in_word = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    CharClass char_class;
    if (c < 0x80) {
      char_class = kAsciiClasses[c];
      ++i;
    } else {
      utf8proc_int32_t code_point;
      i += decode(text.data(), text.size(), i, code_point);
      char_class = classify(code_point);
    }
    const bool space = char_class == CharClass::space;
    stats.words += !in_word && !space;
    stats.symbols += char_class == CharClass::symbol;
    in_word = !space;
  }
}

/// Fraction of the non-blank lines (trimmed already) equal to an earlier line. Lines are sorted
/// by hash, then text, so equal lines end up adjacent without a per-document hash set.
double repeated_line_ratio(std::string_view text) {
  std::vector<std::pair<std::uint64_t, std::string_view>> lines;
  for (std::size_t begin = 0; begin < text.size();) {
    std::size_t end = text.find('\n', begin);
    if (end == kNpos) end = text.size();
    if (end > begin) {
      const std::string_view line = text.substr(begin, end - begin);
      lines.emplace_back(XXH3_64bits(line.data(), line.size()), line);
    }
    begin = end + 1;
  }
  if (lines.empty()) return 0.0;
  std::sort(lines.begin(), lines.end());
  std::size_t repeats = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) repeats += lines[i] == lines[i - 1];
  return static_cast<double>(repeats) / static_cast<double>(lines.size());
}

Rejection apply_filters(const CleanOptions& options, std::string_view text,
                        const TextStats& stats) {
  if (stats.chars < options.min_chars) return Rejection::too_short;
  if (options.max_chars != 0 && stats.chars > options.max_chars) return Rejection::too_long;
  if (stats.words < options.min_words) return Rejection::too_few_words;
  const double symbol_ratio = stats.chars == 0 ? 0.0
                                                : static_cast<double>(stats.symbols) /
                                                      static_cast<double>(stats.chars);
  if (symbol_ratio > options.max_symbol_ratio) return Rejection::too_many_symbols;
  // A ratio never exceeds 1, so the default skips the line hashing.
  if (options.max_repeated_line_ratio < 1.0 &&
      repeated_line_ratio(text) > options.max_repeated_line_ratio) {
    return Rejection::repeated_lines;
  }
  return Rejection::kept;
}

void check_ratio(const char* name, double value) {
  if (!(value >= 0.0 && value <= 1.0)) {
    throw Error(std::string("cleaning option ") + name + " must be between 0 and 1, got " +
                std::to_string(value));
  }
}

}  // namespace

std::optional<Normalization> parse_normalization(std::string_view name) {
  if (name == "none") return Normalization::none;
  if (name == "nfc") return Normalization::nfc;
  if (name == "nfkc") return Normalization::nfkc;
  return std::nullopt;
}

std::optional<InvalidUtf8Policy> parse_invalid_utf8_policy(std::string_view name) {
  if (name == "repair") return InvalidUtf8Policy::repair;
  if (name == "drop") return InvalidUtf8Policy::drop;
  return std::nullopt;
}

std::string_view to_string(Rejection rejection) {
  switch (rejection) {
    case Rejection::kept: return "kept";
    case Rejection::invalid_utf8: return "invalid UTF-8";
    case Rejection::too_short: return "too short";
    case Rejection::too_long: return "too long";
    case Rejection::too_few_words: return "too few words";
    case Rejection::too_many_symbols: return "too many symbols";
    case Rejection::repeated_lines: return "repeated lines";
  }
  return "unknown";
}

Cleaner::Cleaner(CleanOptions options) : options_(options) {
  check_ratio("max_symbol_ratio", options_.max_symbol_ratio);
  check_ratio("max_repeated_line_ratio", options_.max_repeated_line_ratio);
  if (options_.max_chars != 0 && options_.min_chars > options_.max_chars) {
    throw Error("cleaning option min_chars (" + std::to_string(options_.min_chars) +
                ") is larger than max_chars (" + std::to_string(options_.max_chars) +
                "): every document would be rejected");
  }
}

bool repair_invalid_utf8(std::string& text) {
  const Utf8Scan scan = scan_utf8(text);
  if (scan.first_invalid == kNpos) return false;
  repair_utf8(text, scan.first_invalid);
  return true;
}

CleanResult Cleaner::clean(std::string& text, bool source_invalid_utf8) const {
  CleanResult result;
  if (source_invalid_utf8) {
    if (options_.invalid_utf8 == InvalidUtf8Policy::drop) {
      result.rejection = Rejection::invalid_utf8;
      return result;
    }
    result.repaired_utf8 = true;
  }
  const ByteScan bytes = scan_bytes(text);
  bool has_control = bytes.control;
  if (bytes.non_ascii) {
    const Utf8Scan utf8 = scan_utf8(text);
    if (utf8.first_invalid != kNpos) {
      if (options_.invalid_utf8 == InvalidUtf8Policy::drop) {
        result.rejection = Rejection::invalid_utf8;
        return result;
      }
      repair_utf8(text, utf8.first_invalid);
      result.repaired_utf8 = true;
    }
    has_control = has_control || utf8.control;
  }
  if (has_control) {  // "\r" is a control character as well
    text.resize(normalize_line_breaks(text.data(), text.size()));
    if (options_.strip_control) {
      text.resize(strip_control_characters(text.data(), text.size(), result.control_removed));
    }
  }
  // NFC/NFKC of ASCII is ASCII.
  if (bytes.non_ascii) normalize_unicode(text, options_.normalize);
  text.resize(trim_lines(text.data(), text.size()));

  TextStats stats;
  stats.chars = bytes.non_ascii ? count_code_points(text) : text.size();
  if (options_.min_words > 0 || options_.max_symbol_ratio < 1.0) {
    count_words_and_symbols(text, stats);
  }
  result.chars = stats.chars;
  result.rejection = apply_filters(options_, text, stats);
  return result;
}

void CleanCounts::add(const CleanResult& result) {
  ++documents;
  repaired_utf8 += result.repaired_utf8 ? 1 : 0;
  control_removed += result.control_removed;
  ++by_reason[static_cast<std::size_t>(result.rejection)];
}

void CleanCounts::add(const CleanCounts& other) {
  documents += other.documents;
  repaired_utf8 += other.repaired_utf8;
  control_removed += other.control_removed;
  for (std::size_t i = 0; i < kRejectionCount; ++i) by_reason[i] += other.by_reason[i];
}

}  // namespace anvil::core
