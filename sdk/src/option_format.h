#pragma once
// Internal to libanvil_sdk (not installed): how option values and keys are rendered in messages,
// shared by options.cpp (Options, OptionSpec, Diagnostics) and option_schema.cpp (validation),
// so a wrong value reads the same whether the schema or a typed read caught it. The TOML
// spelling itself is toml_text.cpp's (anvil/toml_text.h), which defines the first three below.

#include <anvil/errors.h>
#include <anvil/options.h>
#include <anvil/toml_text.h>

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::detail {

/// A double as TOML writes it: shortest round-trip digits, always a float ("2.0", "0.1", "1e+300",
/// "inf", "nan").
std::string format_float(double value);
/// A key as written in TOML: bare when it can be, quoted (quote_string) otherwise.
std::string format_key(std::string_view key);
/// Appends `node` as inline TOML (format_toml_value) to `out`, giving up, and leaving `out`
/// longer than `budget`, once it is long enough: rendering a huge array for a one-line message
/// stays cheap. Stops only between pieces, so `out` may end in the middle of a value.
void write_toml_value(std::string& out, const toml::node& node, std::size_t budget);

/// A bound or limit for a message: integral values without a decimal point ("0", "1", "0.5").
std::string format_bound(double value);
/// `path.key` with the key quoted if needed; `key` alone when `path` is empty.
std::string qualify(std::string_view path, std::string_view key);
/// `path[index]`.
std::string qualify_index(std::string_view path, std::size_t index);
/// How a table is named in messages: "[optimizer]", or "the top level" for the root.
std::string table_label(std::string_view key_path);

/// The node as TOML text, cut to about `max_chars` characters with "..." (for messages).
std::string render_brief(const toml::node& node, std::size_t max_chars = 40);
/// The TOML type word of a node: "string", "integer", "float", "boolean", "array", "table",
/// "date", "time", "date-time".
std::string_view type_word(const toml::node& node);
/// The node's type and value for "got ..." messages: `string "abc"`, `integer 5`, `table`.
std::string describe(const toml::node& node);

/// `"a", "b", "c"`.
std::string join_quoted(const std::vector<std::string>& words);

/// `expected TYPE, got DESCRIPTION`.
std::string type_mismatch(std::string_view expected, const toml::node& got);

/// A number option's value as it appears in "(got ...)": integers as integers, floats as TOML
/// floats.
std::string format_number_node(const toml::node& node);

/// A floating-point node holding `value` whose source region is `where` (same file, line and
/// column). toml++ drops the source region when a node is copied and only its parser can set
/// one, so the number is re-parsed from a document that puts it at that line and column.
toml::value<double> make_float_at(double value, const toml::source_region& where);

/// Checks one value (or array element) against a scalar type; integers pass for floats.
/// Returns false, recording "expected TYPE, got ..." at the node (with a hint where one
/// helps), when it does not match.
bool check_scalar_type(const toml::node& node,
                       OptionType scalar_type,
                       const std::string& key,
                       Diagnostics& diagnostics);

/// The scalar type of an array option's elements (integer_array -> integer, ...).
OptionType element_type(OptionType array_type);
/// True for the three array option types.
bool is_array_type(OptionType type);

}  // namespace anvil::detail
