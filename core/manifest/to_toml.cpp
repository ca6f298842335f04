// The resolved manifest as TOML text: what `anvil check --dump` prints and what is saved next to
// every checkpoint, so it must read back to the same table and look the same every time.
//
// Written by hand rather than with toml++'s toml_formatter, which prints 0.1 as
// 0.10000000000000001, single-quotes strings and keeps hex/octal spellings. Here: keys in
// toml++'s (sorted) order, plain values of a table before its sub-tables, sub-tables as [a.b]
// sections, arrays of tables as [[a]], numbers in decimal with floats in shortest round-trip
// form, strings double-quoted with escapes.

#include "manifest/manifest.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace anvil::core {
namespace {

std::string quote(std::string_view text) {
  std::string out = "\"";
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
  return out + "\"";
}

std::string format_key(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(key) : quote(key);
}

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
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";  // keep it a float
  return text;
}

void write_inline(std::string& out, const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      out += quote(node.as_string()->get());
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
        write_inline(out, element);
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
        write_inline(out, value);
      }
      out += " }";
      return;
    }
    case toml::node_type::none:
      return;
  }
}

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
    out += format_key(key.str());
    out += " = ";
    write_inline(out, value);
    out += '\n';
  }
  for (const auto& [key, value] : table) {
    if (!is_section(value)) continue;
    const std::string name =
        path.empty() ? format_key(key.str()) : path + "." + format_key(key.str());
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

std::string to_toml(const toml::table& table) {
  std::string out;
  write_body(out, table, "");
  return out;
}

std::string to_toml_inline(const toml::node& value) {
  std::string out;
  write_inline(out, value);
  return out;
}

std::string describe_value(const toml::node& value) {
  if (value.is_table()) return "table";
  std::string text = to_toml_inline(value);
  if (text.size() > 40) {
    std::size_t cut = 37;  // not inside a UTF-8 sequence
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  switch (value.type()) {
    case toml::node_type::array:
      return "array " + text;
    case toml::node_type::string:
      return "string " + text;
    case toml::node_type::integer:
      return "integer " + text;
    case toml::node_type::floating_point:
      return "float " + text;
    case toml::node_type::boolean:
      return "boolean " + text;
    case toml::node_type::date:
      return "date " + text;
    case toml::node_type::time:
      return "time " + text;
    default:
      return "date-time " + text;
  }
}

}  // namespace anvil::core
