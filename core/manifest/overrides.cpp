// `--set KEY=VALUE` overrides (overrides.h). The override text is parsed as a one-line TOML
// document, so values are typed by TOML rules and every node carries the override as its source.

#include "manifest/overrides.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace anvil::core {
namespace {

constexpr const char* kKeyHint =
    "a key is a dotted path of names made of letters, digits, '_' and '-' (e.g. "
    "training.steps); an array of tables is indexed from 0, e.g. loss[1].weight";

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Letters, digits and _-./:+ : what an unquoted string on a command line usually is
// (cosine, cuda:0, runs/exp-1, v1.2).
bool is_bare_word(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return is_key_char(c) || c == '.' || c == '/' || c == ':' || c == '+';
  });
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// 1-based column (in code points) of byte `offset` of `text`.
std::uint32_t column_of(std::string_view text, std::size_t offset) {
  std::uint32_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  return column;
}

std::string quote_key(std::string_view key) {
  if (!key.empty() && std::all_of(key.begin(), key.end(), is_key_char)) return std::string(key);
  std::string out = "\"";
  for (char c : key) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string qualify(const std::string& path, std::string_view key) {
  return path.empty() ? quote_key(key) : path + "." + quote_key(key);
}

bool is_array_of_tables(const toml::node& node);

// What a node is, for "'x' is ..., not a table": `integer 100`, `a table`, `an array of tables`.
std::string describe(const toml::node& node) {
  if (node.is_table()) return "a table";
  if (is_array_of_tables(node)) return "an array of tables";
  return describe_value(node);
}

bool is_array_of_tables(const toml::node& node) {
  const toml::array* array = node.as_array();
  return array && !array->empty() &&
         std::all_of(array->begin(), array->end(),
                     [](const toml::node& n) { return n.is_table(); });
}

struct Segment {
  std::string name;
  std::optional<std::size_t> index;  // `name[index]`
  std::size_t offset = 0;            // byte offset of the segment in the override text
  std::size_t end = 0;               // byte offset just past it
};

// Everything one override needs while it is applied.
class OverrideApplier {
 public:
  OverrideApplier(const Override& override, Diagnostics& diagnostics)
      : text_(override.text), source_(override_source(override)), diagnostics_(diagnostics) {}

  void apply(toml::table& root) {
    const std::size_t equals = text_.find('=');
    if (equals == std::string::npos) {
      error(0, "", "malformed override: expected KEY=VALUE",
            "write it as --set section.key=value, e.g. --set training.steps=200");
      return;
    }
    std::vector<Segment> segments;
    if (!parse_key(equals, segments)) return;
    key_ = join(segments, segments.size());

    std::size_t value_begin = equals + 1;
    while (value_begin < text_.size() && is_space(text_[value_begin])) ++value_begin;
    std::size_t value_end = text_.size();
    while (value_end > value_begin && is_space(text_[value_end - 1])) --value_end;
    if (value_begin == value_end) {
      error(equals + 1, key_, "malformed override: missing value after '='",
            "for an empty string write the quotes: --set " + key_ + "='\"\"'");
      return;
    }

    // Indexed segments name existing tables; walk them by hand (TOML has no syntax for that)
    // and let TOML parse the rest.
    std::size_t last_indexed = segments.size();
    for (std::size_t i = 0; i < segments.size(); ++i)
      if (segments[i].index) last_indexed = i;
    toml::table* target = &root;
    std::string target_path;
    std::size_t first_parsed = 0;
    if (last_indexed != segments.size()) {
      if (last_indexed + 1 == segments.size()) {
        error(segments.back().offset, key_, "cannot set an element of an array of tables itself",
              "set one of its keys, e.g. --set " + key_ + ".weight=0.5");
        return;
      }
      target = walk(root, segments, last_indexed, target_path);
      if (!target) return;
      first_parsed = last_indexed + 1;
    }

    // The document is the override text with the walked prefix blanked out, so columns in it
    // are columns in the override text.
    std::string document = text_;
    std::fill(document.begin(),
              document.begin() + static_cast<std::ptrdiff_t>(segments[first_parsed].offset), ' ');
    std::optional<toml::table> parsed = parse_document(document, value_begin, value_end);
    if (!parsed) return;

    // A value with a newline could smuggle in more keys; exactly the path of KEY must exist.
    const toml::table* level = &*parsed;
    for (std::size_t i = first_parsed; i < segments.size(); ++i) {
      const toml::node* next = level->size() == 1 ? level->get(segments[i].name) : nullptr;
      if (!next || (i + 1 < segments.size() && !next->is_table())) {
        error(value_begin, key_, "malformed override: the value must be a single TOML value",
              "quote strings that contain spaces or special characters, e.g. --set " + key_ +
                  "='\"a b\"'");
        return;
      }
      if (i + 1 < segments.size()) level = next->as_table();
    }
    merge(*target, *parsed, segments, first_parsed, target_path);
  }

 private:
  // Splits the key part (before '=') into segments; false (with a diagnostic) when malformed.
  bool parse_key(std::size_t equals, std::vector<Segment>& segments) {
    std::size_t begin = 0;
    while (begin < equals && is_space(text_[begin])) ++begin;
    std::size_t end = equals;
    while (end > begin && is_space(text_[end - 1])) --end;
    if (begin == end) {
      error(begin, "", "malformed override: empty key before '='",
            "write it as --set section.key=value, e.g. --set training.steps=200");
      return false;
    }
    std::size_t position = begin;
    while (true) {
      std::size_t stop = text_.find('.', position);
      if (stop == std::string::npos || stop > end) stop = end;
      Segment segment;
      segment.offset = position;
      segment.end = stop;
      const std::string_view piece(text_.data() + position, stop - position);
      std::size_t name_end = 0;
      while (name_end < piece.size() && is_key_char(piece[name_end])) ++name_end;
      segment.name = std::string(piece.substr(0, name_end));
      bool valid = !segment.name.empty();
      if (valid && name_end < piece.size()) {
        // name[N]
        const std::string_view index = piece.substr(name_end);
        valid = index.size() >= 3 && index.size() <= 11 && index.front() == '[' &&
                index.back() == ']' && std::all_of(index.begin() + 1, index.end() - 1, [](char c) {
                  return c >= '0' && c <= '9';
                });
        if (valid) segment.index = std::stoull(std::string(index.substr(1, index.size() - 2)));
      }
      if (!valid) {
        const std::string key(text_.substr(begin, end - begin));
        error(position, key,
              piece.empty()
                  ? "malformed override: empty key segment in '" + key + "'"
                  : "malformed override: invalid key segment '" + std::string(piece) + "'",
              kKeyHint);
        return false;
      }
      segments.push_back(std::move(segment));
      if (stop == end) break;
      position = stop + 1;
    }
    return true;
  }

  static std::string join(const std::vector<Segment>& segments, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
      if (i) out += '.';
      out += segments[i].name;
      if (segments[i].index) out += "[" + std::to_string(*segments[i].index) + "]";
    }
    return out;
  }

  // Follows segments[0..last] (the last of them indexed) to the table they name.
  toml::table* walk(toml::table& root,
                    const std::vector<Segment>& segments,
                    std::size_t last,
                    std::string& path) {
    toml::table* table = &root;
    for (std::size_t i = 0; i <= last; ++i) {
      const Segment& segment = segments[i];
      toml::node* node = table->get(segment.name);
      const std::string name = qualify(path, segment.name);
      if (!node) {
        error(segment.offset, key_, "cannot set '" + key_ + "': '" + name + "' is not set",
              segment.index ? "indices only select existing [[" + name + "]] tables" : "");
        return nullptr;
      }
      if (segment.index) {
        toml::array* array = node->as_array();
        if (!array) {
          error(segment.offset, key_,
                "cannot index '" + name + "': it is " + describe(*node) + ", not an array");
          return nullptr;
        }
        if (*segment.index >= array->size()) {
          error(segment.offset, key_,
                "index " + std::to_string(*segment.index) + " is out of range: '" + name +
                    "' has " + std::to_string(array->size()) + " element" +
                    (array->size() == 1 ? "" : "s"));
          return nullptr;
        }
        node = array->get(*segment.index);
        path = name + "[" + std::to_string(*segment.index) + "]";
      } else {
        path = name;
      }
      if (!node->is_table()) {
        error(segment.offset, key_,
              "cannot set '" + key_ + "': '" + path + "' is " + describe(*node) + ", not a table");
        return nullptr;
      }
      table = node->as_table();
    }
    return table;
  }

  std::optional<toml::table> parse_document(const std::string& document,
                                            std::size_t value_begin,
                                            std::size_t value_end) {
    try {
      return toml::parse(document, std::string_view(source_));
    } catch (const toml::parse_error& failure) {
      const std::string_view value(text_.data() + value_begin, value_end - value_begin);
      if (!is_bare_word(value)) {
        diagnostics_.add(failure.source(), key_,
                         "invalid override value: " + std::string(failure.description()),
                         "quote strings that contain spaces or special characters, e.g. --set " +
                             key_ + "='\"a b\"'");
        return std::nullopt;
      }
    }
    // A bare word: the same document with the word quoted (same column, so the caret still
    // lands on it). It contains only key characters and _-./:+, so it needs no escaping.
    std::string quoted = document.substr(0, value_begin) + "\"" +
                         document.substr(value_begin, value_end - value_begin) + "\"";
    try {
      return toml::parse(quoted, std::string_view(source_));
    } catch (const toml::parse_error& failure) {
      diagnostics_.add(failure.source(), key_,
                       "invalid override value: " + std::string(failure.description()));
      return std::nullopt;
    }
  }

  // Puts the parsed path into `target`: missing tables are created (they come from the
  // document, so they know the override as their source), existing ones are entered.
  void merge(toml::table& target,
             toml::table& level,
             const std::vector<Segment>& segments,
             std::size_t i,
             const std::string& path) {
    auto entry = level.begin();
    const toml::key& key = entry->first;
    toml::node& value = entry->second;
    const std::string name = qualify(path, key.str());
    toml::node* existing = target.get(key.str());
    if (!existing) {
      target.insert_or_assign(key, std::move(value));
      return;
    }
    const bool last = i + 1 == segments.size();
    if (!last) {
      if (!existing->is_table()) {
        std::string hint;
        if (is_array_of_tables(*existing))
          hint = "index it, e.g. --set " + name + "[0]." + join_tail(segments, i + 1) + "=...";
        diagnostics_.add(
            key.source(), key_,
            "cannot set '" + key_ + "': '" + name + "' is " + describe(*existing) + ", not a table",
            std::move(hint));
        return;
      }
      merge(*existing->as_table(), *value.as_table(), segments, i + 1, name);
      return;
    }
    if (existing->is_table()) {
      if (value.is_table()) {
        merge_over(*existing->as_table(), *value.as_table());
        return;
      }
      diagnostics_.add(value.source(), key_,
                       "cannot replace table [" + name + "] with " + describe(value),
                       "set one of its keys instead, e.g. --set " + name + ".KEY=VALUE");
      return;
    }
    target.insert_or_assign(key, std::move(value));
  }

  // An inline table given for an existing table updates it key by key.
  static void merge_over(toml::table& target, toml::table& source) {
    for (auto&& [key, value] : source) {
      toml::node* existing = target.get(key.str());
      if (existing && existing->is_table() && value.is_table())
        merge_over(*existing->as_table(), *value.as_table());
      else
        target.insert_or_assign(key, std::move(value));
    }
  }

  static std::string join_tail(const std::vector<Segment>& segments, std::size_t from) {
    std::string out;
    for (std::size_t i = from; i < segments.size(); ++i) {
      if (i > from) out += '.';
      out += segments[i].name;
    }
    return out;
  }

  // A problem with the override text itself, at byte `offset` of it.
  void error(std::size_t offset, std::string key, std::string message, std::string hint = {}) {
    Diagnostic diagnostic;
    diagnostic.file = source_;
    diagnostic.line = 1;
    diagnostic.column = column_of(text_, offset);
    diagnostic.key = std::move(key);
    diagnostic.message = std::move(message);
    diagnostic.hint = std::move(hint);
    diagnostics_.add(std::move(diagnostic));
  }

  const std::string& text_;
  std::string source_;
  Diagnostics& diagnostics_;
  std::string key_;
};

}  // namespace

std::string override_source(const Override& override) {
  return "--set " + override.text;
}

void apply_override(toml::table& root, const Override& override, Diagnostics& diagnostics) {
  OverrideApplier(override, diagnostics).apply(root);
}

}  // namespace anvil::core
