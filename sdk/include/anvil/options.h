#pragma once
/// @file options.h
/// How a plugin declares its options (OptionSchema) and reads them (Options).
///
/// A plugin declares every key of its manifest table once, with type, default, range and a
/// one-line doc. The host validates the user's table against that declaration before the
/// plugin's factory runs (wrong type, out of range, missing required, unknown key with
/// "did you mean"), fills in defaults, and hands the factory an Options view. The same
/// declaration drives `anvil plugins show NAME` and the generated docs.

#include <anvil/errors.h>
#include <anvil/export.h>

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anvil {

/// The value types an option can have. Integers are accepted where floats are expected.
enum class OptionType {
  boolean,
  integer,
  floating,
  string,
  integer_array,
  floating_array,
  string_array,
  table,  ///< a free-form sub-table the plugin reads itself
};

/// The type's name as shown to users ("integer", "array of strings", ...).
ANVIL_SDK_API std::string_view to_string(OptionType type);

/// The declaration of one option. Built with OptionSchema::add and its fluent setters.
class ANVIL_SDK_API OptionSpec {
 public:
  /// An optional option without a default; OptionSchema::add is the usual way to make one.
  OptionSpec(std::string key, OptionType type, std::string doc);

  /// Makes the option mandatory: a manifest without it is an error. Clears any default.
  OptionSpec& required();
  /// Inclusive lower bound (numbers: value; arrays: every element; strings: not applicable).
  OptionSpec& min(double lower);
  /// Inclusive upper bound.
  OptionSpec& max(double upper);
  /// Inclusive range, shorthand for min(lower).max(upper).
  OptionSpec& range(double lower, double upper);
  /// Restricts a string (or every element of a string array) to these values.
  OptionSpec& one_of(std::vector<std::string> choices);
  /// Sets the default from a TOML value. Prefer OptionSchema::add's typed overloads.
  OptionSpec& default_node(const toml::node& value);

  /// The key as written in the manifest.
  const std::string& key() const noexcept { return key_; }
  /// The value type.
  OptionType type() const noexcept { return type_; }
  /// One line for `anvil plugins show` and the docs.
  const std::string& doc() const noexcept { return doc_; }
  /// True when the manifest must set the key.
  bool is_required() const noexcept { return required_; }
  /// The inclusive lower bound, if any.
  const std::optional<double>& lower() const noexcept { return min_; }
  /// The inclusive upper bound, if any.
  const std::optional<double>& upper() const noexcept { return max_; }
  /// The allowed strings; empty when any string is allowed.
  const std::vector<std::string>& choices() const noexcept { return choices_; }
  /// The default value, or nullptr when the option is required or has no default.
  const toml::node* default_value() const noexcept;
  /// The default rendered as TOML ("0.001", "\"gpt2\"", "[1, 2]"), or "" when none.
  std::string default_text() const;

 private:
  std::string key_;
  OptionType type_;
  std::string doc_;
  bool required_ = false;
  std::optional<double> min_;
  std::optional<double> max_;
  std::vector<std::string> choices_;
  toml::table default_holder_;  // holds the default under the key "value"
};

/// Collects diagnostics while a table is validated or read; thrown as one ConfigError.
class ANVIL_SDK_API Diagnostics {
 public:
  /// Records a problem at `where` (a node's source region; may be empty for missing keys).
  void add(const toml::source_region& where, std::string key, std::string message,
           std::string hint = {});
  /// Records a prepared diagnostic.
  void add(Diagnostic diagnostic);
  /// True when nothing was recorded.
  bool empty() const noexcept { return items_.empty(); }
  /// Number of problems recorded.
  std::size_t size() const noexcept { return items_.size(); }
  /// The problems, in the order they were recorded.
  const std::vector<Diagnostic>& items() const noexcept { return items_; }
  /// Throws ConfigError with everything collected so far, if anything was.
  void throw_if_any() const;

 private:
  std::vector<Diagnostic> items_;
};

/// Every option of one component, in declaration order.
class ANVIL_SDK_API OptionSchema {
 public:
  /// Declares an option with a default of the matching type.
  OptionSpec& add(std::string key, bool default_value, std::string doc);
  OptionSpec& add(std::string key, int default_value, std::string doc);
  OptionSpec& add(std::string key, std::int64_t default_value, std::string doc);
  OptionSpec& add(std::string key, double default_value, std::string doc);
  OptionSpec& add(std::string key, const char* default_value, std::string doc);
  OptionSpec& add(std::string key, std::string default_value, std::string doc);
  OptionSpec& add(std::string key, std::vector<std::int64_t> default_value, std::string doc);
  OptionSpec& add(std::string key, std::vector<double> default_value, std::string doc);
  OptionSpec& add(std::string key, std::vector<std::string> default_value, std::string doc);
  /// Declares an option without a default (optional and absent unless the user sets it;
  /// call .required() on the result to make it mandatory).
  OptionSpec& add(std::string key, OptionType type, std::string doc);
  /// Adds a spec made elsewhere (another schema's, e.g. shared keys of a family of components).
  /// Throws anvil::Error when its key is declared already.
  OptionSpec& add(OptionSpec spec);

  /// Every declared option, in declaration order.
  const std::vector<OptionSpec>& specs() const noexcept { return specs_; }
  /// The spec of `key`, or nullptr.
  const OptionSpec* find(std::string_view key) const noexcept;

  /// Checks `table` (whose fully qualified name is `key_path`, e.g. "optimizer") against the
  /// schema and fills in defaults for absent keys. Every problem is added to `diagnostics`:
  /// unknown keys (with "did you mean"), wrong types, values out of range or not among the
  /// choices, and missing required keys (reported at `table_source`). Keys listed in
  /// `reserved` (such as "plugin") are skipped.
  void validate(toml::table& table, const std::string& key_path,
                Diagnostics& diagnostics,
                const std::vector<std::string>& reserved = {}) const;

 private:
  OptionSpec& insert(OptionSpec spec);
  std::vector<OptionSpec> specs_;
};

/// A component's view of its own, validated manifest table.
///
/// Reads are typed; a read of a missing key or of the wrong type records a diagnostic at the
/// key's source position and returns a value-initialised T, so a factory reads everything and
/// reports all problems at once. Semantic problems are added with error().
class ANVIL_SDK_API Options {
 public:
  /// @param table the component's table (defaults filled in); must outlive this view.
  /// @param key_path its fully qualified name, e.g. "model" or "model.attention".
  /// @param diagnostics where problems are collected; must outlive this view.
  Options(const toml::table& table, std::string key_path, Diagnostics& diagnostics);

  /// Reads `key` as T: bool, int, std::int64_t, double (integers accepted), std::string, or
  /// std::vector of std::int64_t, double or std::string.
  template <class T>
  T get(std::string_view key) const;
  /// Like get, but returns `fallback` when the key is absent (a present key of the wrong type
  /// is still an error).
  template <class T>
  T get_or(std::string_view key, T fallback) const {
    return has(key) ? get<T>(key) : fallback;
  }
  /// True when the key is present (set by the user or filled from a default).
  bool has(std::string_view key) const;
  /// A view of the sub-table `key` (an empty table, plus a diagnostic, if it is not a table).
  Options child(std::string_view key) const;

  /// Records a semantic problem with `key` at its source position (or the table's, if absent).
  void error(std::string_view key, std::string message, std::string hint = {}) const;

  /// The fully qualified name of this table.
  const std::string& key_path() const noexcept { return key_path_; }
  /// The qualified name of one of its keys ("optimizer.lr").
  std::string qualify(std::string_view key) const;
  /// The underlying table.
  const toml::table& table() const noexcept { return *table_; }
  /// The diagnostics this view records into.
  Diagnostics& diagnostics() const noexcept { return *diagnostics_; }

 private:
  const toml::node* find(std::string_view key, std::string_view expected) const;
  const toml::table* table_;
  std::string key_path_;
  Diagnostics* diagnostics_;
};

/// Spelling suggestion: the candidate closest to `word` by edit distance, if close enough
/// (at most 2 edits, or a third of the word's length for long words); empty otherwise.
ANVIL_SDK_API std::string closest_match(std::string_view word,
                                        const std::vector<std::string>& candidates);

// Explicit instantiations live in libanvil_sdk.
extern template ANVIL_SDK_API bool Options::get<bool>(std::string_view) const;
extern template ANVIL_SDK_API int Options::get<int>(std::string_view) const;
extern template ANVIL_SDK_API std::int64_t Options::get<std::int64_t>(std::string_view) const;
extern template ANVIL_SDK_API double Options::get<double>(std::string_view) const;
extern template ANVIL_SDK_API std::string Options::get<std::string>(std::string_view) const;
extern template ANVIL_SDK_API std::vector<std::int64_t>
Options::get<std::vector<std::int64_t>>(std::string_view) const;
extern template ANVIL_SDK_API std::vector<double>
Options::get<std::vector<double>>(std::string_view) const;
extern template ANVIL_SDK_API std::vector<std::string>
Options::get<std::vector<std::string>>(std::string_view) const;

}  // namespace anvil
