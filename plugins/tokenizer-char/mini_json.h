#pragma once
/// @file mini_json.h
/// A deliberately small JSON reader, enough for the char tokenizer's `tokenizer.json` (objects,
/// arrays, strings, integers, booleans, null); strings are written with anvil::quote_string
/// (<anvil/toml_text.h>). No JSON library is available on the build machines, and the file is
/// simple enough that ~200 lines beat a dependency. Not a general-purpose parser: numbers keep
/// their integer value only when written without fraction or exponent, and nesting is capped so
/// hostile files cannot overflow the stack.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace anvil::builtin::json {

/// One parsed JSON value. Only the member matching `type` is meaningful.
struct Value {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;         ///< every number
  bool is_integer = false;   ///< written without fraction/exponent and fits in int64
  std::int64_t integer = 0;  ///< valid when is_integer
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  ///< in file order; keys are unique

  /// The member `key` of an object, or nullptr (also when this is not an object).
  const Value* find(std::string_view key) const;
};

/// The JSON name of a type ("object", "array", ...), for error messages.
std::string_view type_name(Value::Type type);

/// Parses a complete JSON document. Throws anvil::DataError "<source>:<line>:<column>: ..." on
/// malformed input (including duplicate object keys and trailing garbage).
Value parse(std::string_view text, const std::string& source);

}  // namespace anvil::builtin::json
