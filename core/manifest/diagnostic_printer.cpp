// Compiler-style printing of configuration diagnostics (diagnostic_printer.h):
//
//   configs/run.toml:12:10: error: optimizer.lr: expected float, got string "fast"
//      12 | lr = "fast"
//         |      ^~~~~~
//   HINT: ...
//
// The caret spans the token at the column (a quoted string, a bracketed array or table
// header, or a bare word), found from the source line since diagnostics carry only where a
// problem begins.

#include "manifest/diagnostic_printer.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <tuple>

namespace anvil::core {
namespace {

constexpr std::string_view kOverridePrefix = "--set ";
constexpr std::size_t kGutter = 5;

bool is_override(const Diagnostic& diagnostic) {
  return diagnostic.file.compare(0, kOverridePrefix.size(), kOverridePrefix) == 0;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

// Source lines of each file, read once per print_diagnostics call.
class SourceCache {
 public:
  // Line `line` (1-based) of the diagnostic's source, if it can be read.
  std::optional<std::string> line(const Diagnostic& diagnostic) {
    if (diagnostic.line == 0 || diagnostic.file.empty()) return std::nullopt;
    auto found = files_.find(diagnostic.file);
    if (found == files_.end()) found = files_.emplace(diagnostic.file, load(diagnostic)).first;
    const std::vector<std::string>& lines = found->second;
    if (diagnostic.line > lines.size()) return std::nullopt;
    return lines[diagnostic.line - 1];
  }

 private:
  static std::vector<std::string> load(const Diagnostic& diagnostic) {
    // An override's "file" is the override itself.
    if (is_override(diagnostic))
      return split_lines(std::string_view(diagnostic.file).substr(kOverridePrefix.size()));
    std::ifstream in(diagnostic.file, std::ios::binary);
    if (!in) return {};
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> lines = split_lines(text);
    // A file ending in a newline has no empty line after it.
    if (!lines.empty() && lines.back().empty() && !text.empty()) lines.pop_back();
    return lines;
  }

  std::map<std::string, std::vector<std::string>> files_;
};

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Byte offset of 1-based code-point column `column` in `line` (may be line.size()).
std::size_t byte_offset(const std::string& line, std::uint32_t column) {
  std::size_t offset = 0;
  for (std::uint32_t c = 1; c < column && offset < line.size(); ++c) {
    ++offset;
    while (offset < line.size() && is_continuation(line[offset])) ++offset;
  }
  return offset;
}

std::size_t count_code_points(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !is_continuation(c); }));
}

// Length in bytes of the token starting at `start`: a quoted string, a bracketed group, or a
// run of characters up to whitespace or punctuation. At least 1.
std::size_t token_length(const std::string& line, std::size_t start) {
  if (start >= line.size()) return 1;
  const char first = line[start];
  std::size_t end = start + 1;
  if (first == '"' || first == '\'') {
    while (end < line.size() && line[end] != first) {
      if (first == '"' && line[end] == '\\') ++end;
      ++end;
    }
    end = std::min(end + 1, line.size());
  } else if (first == '[' || first == '{') {
    int depth = 1;
    char quote = 0;
    for (; end < line.size() && depth > 0; ++end) {
      const char c = line[end];
      if (quote) {
        if (c == '\\' && quote == '"')
          ++end;
        else if (c == quote)
          quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        --depth;
      }
    }
    if (depth > 0) {  // not closed on this line: underline to its end
      end = line.size();
      while (end > start + 1 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
    }
  } else if (first == '.') {
    // An empty segment of a dotted key ("a..b"): just the dot.
  } else {
    // A bare word, number or key; an index inside it ("loss[2].weight") belongs to it.
    static constexpr std::string_view kStops = " \t,]}=#";
    while (end < line.size() && kStops.find(line[end]) == std::string_view::npos) {
      if (line[end] == '[') {
        const std::size_t close = line.find(']', end);
        if (close == std::string::npos) break;
        end = close;
      }
      ++end;
    }
  }
  return std::min(end, line.size()) - start;
}

void print_source(std::ostream& out, const Diagnostic& diagnostic, const std::string& line) {
  const std::string number = is_override(diagnostic) ? "" : std::to_string(diagnostic.line);
  const std::size_t width = std::max(kGutter, number.size());
  out << std::string(width - number.size(), ' ') << number << " | " << line << '\n';

  const std::size_t start = byte_offset(line, diagnostic.column);
  // Keep tabs in the padding so the caret lines up however the terminal expands them.
  std::string padding;
  for (std::size_t i = 0; i < start; ++i) {
    if (is_continuation(line[i])) continue;
    padding += line[i] == '\t' ? '\t' : ' ';
  }
  const std::size_t length = token_length(line, start);
  const std::size_t span =
      start < line.size() ? std::max<std::size_t>(
                                1, count_code_points(std::string_view(line).substr(start, length)))
                          : 1;
  out << std::string(width, ' ') << " | " << padding << '^' << std::string(span - 1, '~') << '\n';
}

}  // namespace

std::string format_diagnostic_headline(const Diagnostic& diagnostic) {
  std::string headline;
  if (!diagnostic.file.empty()) {
    headline += diagnostic.file;
    // An override is one short line: its position shows in the caret line instead.
    if (diagnostic.line != 0 && !is_override(diagnostic))
      headline += ":" + std::to_string(diagnostic.line) + ":" + std::to_string(diagnostic.column);
    headline += ": ";
  }
  headline += "error: ";
  if (!diagnostic.key.empty()) headline += diagnostic.key + ": ";
  headline += diagnostic.message;
  return headline;
}

void print_diagnostics(std::ostream& out, const std::vector<Diagnostic>& diagnostics) {
  std::vector<const Diagnostic*> sorted;
  sorted.reserve(diagnostics.size());
  for (const Diagnostic& diagnostic : diagnostics) sorted.push_back(&diagnostic);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    return std::tie(a->file, a->line, a->column) < std::tie(b->file, b->line, b->column);
  });

  SourceCache sources;
  for (const Diagnostic* diagnostic : sorted) {
    out << format_diagnostic_headline(*diagnostic) << '\n';
    if (std::optional<std::string> line = sources.line(*diagnostic))
      print_source(out, *diagnostic, *line);
    if (!diagnostic->hint.empty()) out << "HINT: " << diagnostic->hint << '\n';
  }
}

}  // namespace anvil::core
