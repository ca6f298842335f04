// TOML text (anvil/toml_text.h), and the pieces of it that the option messages of options.cpp
// and option_schema.cpp share (option_format.h): format_float, format_key and the inline value
// writer with a length budget.

#include "option_format.h"

#include <anvil/toml_text.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace anvil {

// ---------------------------------------------------------------------------------------------
// Pieces shared with the option messages (option_format.h)
// ---------------------------------------------------------------------------------------------
namespace detail {

std::string format_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest digits that read back exactly; plain notation for everyday magnitudes (0.0003,
  // not 3e-04), exponents only for very small or large ones.
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-5 && magnitude < 1e16);
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value,
                    plain ? std::chars_format::fixed : std::chars_format::scientific);
  std::string text(buffer, result.ptr);
  // to_chars writes 2.0 as "2"; TOML needs a '.' or an exponent to read it back as a float.
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string format_key(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(key) : quote_string(key);
}

void write_toml_value(std::string& out, const toml::node& node, std::size_t budget) {
  if (out.size() > budget) return;
  switch (node.type()) {
    case toml::node_type::string:
      out += quote_string(node.as_string()->get());
      return;
    case toml::node_type::integer:
      out += std::to_string(node.as_integer()->get());
      return;
    case toml::node_type::floating_point:
      out += format_float(node.as_floating_point()->get());
      return;
    case toml::node_type::boolean:
      out += node.as_boolean()->get() ? "true" : "false";
      return;
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: {
      // toml++ prints dates and times in RFC 3339 form, which is what TOML reads.
      std::ostringstream text;
      node.visit([&text](const auto& value) {
        if constexpr (toml::is_date<decltype(value)> || toml::is_time<decltype(value)> ||
                      toml::is_date_time<decltype(value)>)
          text << value;
      });
      out += text.str();
      return;
    }
    case toml::node_type::array: {
      out += '[';
      bool first = true;
      for (const toml::node& element : *node.as_array()) {
        if (!first) out += ", ";
        first = false;
        write_toml_value(out, element, budget);
        if (out.size() > budget) return;
      }
      out += ']';
      return;
    }
    case toml::node_type::table: {
      const toml::table& table = *node.as_table();
      if (table.empty()) {
        out += "{}";
        return;
      }
      out += "{ ";
      bool first = true;
      for (const auto& [key, value] : table) {
        if (!first) out += ", ";
        first = false;
        out += format_key(key.str());
        out += " = ";
        write_toml_value(out, value, budget);
        if (out.size() > budget) return;
      }
      out += " }";
      return;
    }
    case toml::node_type::none:
      return;
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------
namespace {

bool is_array_of_tables(const toml::node& node) {
  const toml::array* array = node.as_array();
  return array && !array->empty() &&
         std::all_of(array->begin(), array->end(),
                     [](const toml::node& n) { return n.is_table(); });
}

// Written as a section of its own ([a] or [[a]]) rather than as `key = value`.
bool is_section(const toml::node& node) {
  return node.is_table() || is_array_of_tables(node);
}

void write_header(std::string& out, const std::string& header) {
  if (!out.empty()) out += '\n';
  out += header;
  out += '\n';
}

// The plain values of `table`, then its sub-tables and arrays of tables under `path`.
void write_body(std::string& out, const toml::table& table, const std::string& path) {
  for (const auto& [key, value] : table) {
    if (is_section(value)) continue;
    out += detail::format_key(key.str());
    out += " = ";
    out += format_toml_value(value);
    out += '\n';
  }
  for (const auto& [key, value] : table) {
    if (!is_section(value)) continue;
    const std::string name = path.empty() ? detail::format_key(key.str())
                                          : path + "." + detail::format_key(key.str());
    if (const toml::table* sub = value.as_table()) {
      // A table holding only tables needs no header of its own; an empty one does, or it
      // would vanish.
      const bool has_values =
          sub->empty() || std::any_of(sub->begin(), sub->end(),
                                      [](const auto& entry) { return !is_section(entry.second); });
      if (has_values) write_header(out, "[" + name + "]");
      write_body(out, *sub, name);
    } else {
      for (const toml::node& element : *value.as_array()) {
        write_header(out, "[[" + name + "]]");
        write_body(out, *element.as_table(), name);
      }
    }
  }
}

}  // namespace

std::string format_toml(const toml::table& table) {
  std::string out;
  write_body(out, table, "");
  return out;
}

std::string format_toml_value(const toml::node& value) {
  std::string out;
  detail::write_toml_value(out, value, std::string::npos);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

std::string quote_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void append_utf8(std::string& out, char32_t codepoint) {
  const char32_t cp = codepoint;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string join(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += separator;
    out += words[i];
  }
  return out;
}

}  // namespace anvil
