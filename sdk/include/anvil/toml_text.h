#pragma once
/// @file toml_text.h
/// TOML text: the one writer that turns tables and values back into text. The host uses it for
/// `anvil check --dump` and the manifest saved next to every checkpoint, the SDK for the values
/// its option messages quote, and plugins for whatever they save or print, so that a value is
/// spelled the same everywhere.
///
/// Written by hand rather than with toml++'s toml_formatter, which prints 0.1 as
/// 0.10000000000000001, single-quotes strings and keeps hex/octal spellings. The functions only
/// read their nodes; none of them needs (or keeps) source regions.

#include <anvil/export.h>

#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <vector>

namespace anvil {

/// `table` as a TOML document that reads back to an equal table and is the same text every time:
/// keys in toml++'s (sorted) order; a table's plain values, then its sub-tables as `[a.b]`
/// sections (a table holding only tables gets no header of its own; an empty one does) and its
/// arrays of tables as `[[a]]`, each section after a blank line. Values are written as
/// format_toml_value() writes them.
ANVIL_SDK_API std::string format_toml(const toml::table& table);

/// One value as inline TOML: `0.5`, `2.0`, `-7`, `"cosine"`, `[1, 2]`, `{ a = 1, "b c" = true }`,
/// `{}`. Integers in decimal (hex/octal/binary spellings are not kept); floats in the shortest
/// digits that read back exactly, in plain notation from 1e-5 to 1e16 (`0.0003`) and with an
/// exponent outside it (`1e+300`), always with a `.` or an exponent (`2.0`), or `inf`, `-inf`,
/// `nan`; strings as quote_string() writes them; keys bare when they are made only of letters,
/// digits, `_` and `-`, quoted otherwise; dates and times in RFC 3339 form.
ANVIL_SDK_API std::string format_toml_value(const toml::node& value);

/// `text` as a double-quoted basic string, valid both in TOML and in JSON: `"` and `\` are
/// escaped with a backslash; backspace, tab, newline, form feed and carriage return as `\b`,
/// `\t`, `\n`, `\f`, `\r`; the other control characters and DEL as `\u00XX` (upper-case hex).
/// Every other byte, UTF-8 or not, is copied as it is.
ANVIL_SDK_API std::string quote_string(std::string_view text);

/// Appends `codepoint` to `out` encoded as UTF-8 (one to four bytes). `codepoint` must be a
/// Unicode scalar value (at most U+10FFFF, not a surrogate); it is not checked.
ANVIL_SDK_API void append_utf8(std::string& out, char32_t codepoint);

/// `words` with `separator` between them: `a, b, c`; "" for none.
ANVIL_SDK_API std::string join(const std::vector<std::string>& words,
                               std::string_view separator = ", ");

}  // namespace anvil
