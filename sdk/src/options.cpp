// OptionSpec, Diagnostics and Options (anvil/options.h), plus the message formatting helpers of
// option_format.h that validation (option_schema.cpp) shares with the typed reads here.

#include "option_format.h"

#include <anvil/options.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

namespace anvil {

// ---------------------------------------------------------------------------------------------
// Formatting helpers (option_format.h)
// ---------------------------------------------------------------------------------------------
namespace detail {

std::string format_bound(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(static_cast<long long>(value));
  return format_float(value);
}

std::string qualify(std::string_view path, std::string_view key) {
  if (path.empty()) return format_key(key);
  std::string out(path);
  out += '.';
  out += format_key(key);
  return out;
}

std::string qualify_index(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

std::string table_label(std::string_view key_path) {
  if (key_path.empty()) return "the top level";
  return "[" + std::string(key_path) + "]";
}

namespace {

// Byte length of the longest prefix of `text` with at most `max_chars` UTF-8 code points.
std::size_t prefix_bytes(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == max_chars) return i;
    ++chars;
  }
  return text.size();
}

}  // namespace

std::string render_brief(const toml::node& node, std::size_t max_chars) {
  if (const auto* string = node.as_string()) {
    // Cut inside the quotes so the result still reads as one string: "aaaa...".
    const std::string& text = string->get();
    const std::size_t keep = prefix_bytes(text, max_chars);
    if (keep == text.size()) return quote_string(text);
    std::string out = quote_string(std::string_view(text).substr(0, keep));
    out.insert(out.size() - 1, "...");
    return out;
  }
  std::string out;
  write_toml_value(out, node, max_chars);
  if (out.size() > max_chars) {
    out.resize(prefix_bytes(out, max_chars));
    out += "...";
  }
  return out;
}

std::string_view type_word(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string describe(const toml::node& node) {
  if (node.is_table()) return "table";
  return std::string(type_word(node)) + " " + render_brief(node);
}

std::string join_quoted(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += ", ";
    out += quote_string(word);
  }
  return out;
}

std::string type_mismatch(std::string_view expected, const toml::node& got) {
  return "expected " + std::string(expected) + ", got " + describe(got);
}

std::string format_number_node(const toml::node& node) {
  if (const auto* integer = node.as_integer()) return std::to_string(integer->get());
  if (const auto* floating = node.as_floating_point()) return format_float(floating->get());
  return render_brief(node);
}

toml::value<double> make_float_at(double value, const toml::source_region& where) {
  const std::uint32_t line = where.begin.line;
  const std::uint32_t column = where.begin.column;
  // Only a value that came from a document has a position worth keeping. A value on line 1
  // follows at least "k=", so it starts at column 3 or later.
  if (!where.path || line == 0 || (line == 1 && column < 3)) return toml::value<double>(value);
  std::string document;
  if (line == 1) {
    document = "x=" + std::string(column - 3, ' ') + format_float(value);
  } else {
    // An array may continue on the next line, where its element can start at any column.
    document = std::string(line - 2, '\n') + "x=[\n" + std::string(column - 1, ' ') +
               format_float(value) + "]";
  }
  try {
    toml::table parsed = toml::parse(document, std::string_view(*where.path));
    toml::node* number = parsed.get("x");
    if (number && number->is_array()) number = number->as_array()->get(0);
    if (number && number->is_floating_point()) return std::move(*number->as_floating_point());
  } catch (const toml::parse_error&) {
    // Not expected (the document is generated); the value is still right, only unplaced.
  }
  return toml::value<double>(value);
}

OptionType element_type(OptionType array_type) {
  switch (array_type) {
    case OptionType::integer_array:
      return OptionType::integer;
    case OptionType::floating_array:
      return OptionType::floating;
    case OptionType::string_array:
      return OptionType::string;
    default:
      return array_type;
  }
}

bool is_array_type(OptionType type) {
  return type == OptionType::integer_array || type == OptionType::floating_array ||
         type == OptionType::string_array;
}

bool check_scalar_type(const toml::node& node,
                       OptionType scalar_type,
                       const std::string& key,
                       Diagnostics& diagnostics) {
  bool ok = false;
  std::string hint;
  switch (scalar_type) {
    case OptionType::boolean:
      ok = node.is_boolean();
      break;
    case OptionType::integer:
      ok = node.is_integer();
      if (const auto* floating = node.as_floating_point()) {
        const double value = floating->get();
        if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9e15)
          hint = "write " + std::to_string(static_cast<long long>(value)) +
                 " (without a decimal point) for an integer";
      }
      break;
    case OptionType::floating:
      ok = node.is_integer() || node.is_floating_point();
      break;
    case OptionType::string:
      ok = node.is_string();
      if (node.is_value() && !ok)
        hint = "quote it to make it a string: " + quote_string(render_brief(node, 1000));
      break;
    case OptionType::table:
      ok = node.is_table();
      break;
    default:
      break;  // array types are checked element by element by the caller
  }
  if (!ok)
    diagnostics.add(node.source(), key, type_mismatch(to_string(scalar_type), node),
                    std::move(hint));
  return ok;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// OptionType and OptionSpec
// ---------------------------------------------------------------------------------------------

std::string_view to_string(OptionType type) {
  switch (type) {
    case OptionType::boolean:
      return "boolean";
    case OptionType::integer:
      return "integer";
    case OptionType::floating:
      return "float";
    case OptionType::string:
      return "string";
    case OptionType::integer_array:
      return "array of integers";
    case OptionType::floating_array:
      return "array of floats";
    case OptionType::string_array:
      return "array of strings";
    case OptionType::table:
      return "table";
  }
  return "unknown";
}

OptionSpec::OptionSpec(std::string key, OptionType type, std::string doc)
    : key_(std::move(key)), type_(type), doc_(std::move(doc)) {}

OptionSpec& OptionSpec::required() {
  required_ = true;
  default_holder_.clear();
  return *this;
}

OptionSpec& OptionSpec::min(double lower) {
  min_ = lower;
  return *this;
}

OptionSpec& OptionSpec::max(double upper) {
  max_ = upper;
  return *this;
}

OptionSpec& OptionSpec::range(double lower, double upper) {
  return min(lower).max(upper);
}

OptionSpec& OptionSpec::one_of(std::vector<std::string> choices) {
  choices_ = std::move(choices);
  return *this;
}

namespace {

// Whether `value` can be the default of an option of `type` (integers count as floats).
bool default_matches(const toml::node& value, OptionType type) {
  auto scalar_matches = [](const toml::node& node, OptionType scalar) {
    switch (scalar) {
      case OptionType::boolean:
        return node.is_boolean();
      case OptionType::integer:
        return node.is_integer();
      case OptionType::floating:
        return node.is_integer() || node.is_floating_point();
      case OptionType::string:
        return node.is_string();
      case OptionType::table:
        return node.is_table();
      default:
        return false;
    }
  };
  if (!detail::is_array_type(type)) return scalar_matches(value, type);
  const toml::array* array = value.as_array();
  if (!array) return false;
  const OptionType element = detail::element_type(type);
  return std::all_of(array->begin(), array->end(),
                     [&](const toml::node& node) { return scalar_matches(node, element); });
}

}  // namespace

OptionSpec& OptionSpec::default_node(const toml::node& value) {
  ANVIL_CHECK(default_matches(value, type_), "the default of option '", key_, "' is ",
              detail::describe(value), ", not ", to_string(type_));
  // Stored as the declared type, so a float option's default reads back as a double.
  if (type_ == OptionType::floating && value.is_integer()) {
    default_holder_.insert_or_assign("value", static_cast<double>(value.as_integer()->get()));
  } else if (type_ == OptionType::floating_array) {
    toml::array doubles;
    for (const toml::node& element : *value.as_array())
      doubles.push_back(element.is_integer() ? static_cast<double>(element.as_integer()->get())
                                             : element.as_floating_point()->get());
    default_holder_.insert_or_assign("value", std::move(doubles));
  } else {
    default_holder_.insert_or_assign("value", value);
  }
  required_ = false;
  return *this;
}

const toml::node* OptionSpec::default_value() const noexcept {
  return default_holder_.get("value");
}

std::string OptionSpec::default_text() const {
  const toml::node* value = default_value();
  if (!value) return {};
  return detail::render_brief(*value, std::numeric_limits<std::size_t>::max() / 2);
}

// ---------------------------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------------------------

void Diagnostics::add(const toml::source_region& where,
                      std::string key,
                      std::string message,
                      std::string hint) {
  Diagnostic diagnostic;
  if (where.path) diagnostic.file = *where.path;
  diagnostic.line = where.begin.line;
  diagnostic.column = where.begin.column;
  diagnostic.key = std::move(key);
  diagnostic.message = std::move(message);
  diagnostic.hint = std::move(hint);
  items_.push_back(std::move(diagnostic));
}

void Diagnostics::add(Diagnostic diagnostic) {
  items_.push_back(std::move(diagnostic));
}

void Diagnostics::throw_if_any() const {
  if (items_.empty()) return;
  // Source order (file, then line, then column); problems found at the same place keep the
  // order they were found in.
  std::vector<Diagnostic> sorted = items_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
  });
  throw ConfigError(std::move(sorted));
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

Options::Options(const toml::table& table, std::string key_path, Diagnostics& diagnostics)
    : table_(&table), key_path_(std::move(key_path)), diagnostics_(&diagnostics) {}

std::string Options::qualify(std::string_view key) const {
  return detail::qualify(key_path_, key);
}

bool Options::has(std::string_view key) const {
  return table_->contains(key);
}

const toml::node* Options::find(std::string_view key, std::string_view expected) const {
  const toml::node* node = table_->get(key);
  if (!node) {
    diagnostics_->add(table_->source(), qualify(key),
                      "missing required key '" + std::string(key) + "'",
                      "add " + detail::format_key(key) + " = <" + std::string(expected) + "> to " +
                          detail::table_label(key_path_));
  }
  return node;
}

namespace {

template <class T>
constexpr OptionType option_type_of() {
  if constexpr (std::is_same_v<T, bool>)
    return OptionType::boolean;
  else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, std::int64_t>)
    return OptionType::integer;
  else if constexpr (std::is_same_v<T, double>)
    return OptionType::floating;
  else if constexpr (std::is_same_v<T, std::string>)
    return OptionType::string;
  else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>)
    return OptionType::integer_array;
  else if constexpr (std::is_same_v<T, std::vector<double>>)
    return OptionType::floating_array;
  else
    return OptionType::string_array;
}

// Reads a node already checked to have the scalar type of T.
template <class T>
T read_scalar(const toml::node& node) {
  if constexpr (std::is_same_v<T, double>) {
    if (const auto* integer = node.as_integer()) return static_cast<double>(integer->get());
    return node.as_floating_point()->get();
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return node.as_integer()->get();
  } else if constexpr (std::is_same_v<T, bool>) {
    return node.as_boolean()->get();
  } else {
    return node.as_string()->get();
  }
}

}  // namespace

template <class T>
T Options::get(std::string_view key) const {
  constexpr OptionType type = option_type_of<T>();
  const toml::node* node = find(key, to_string(type));
  if (!node) return T{};
  const std::string qualified = qualify(key);

  if constexpr (std::is_same_v<T, std::vector<std::int64_t>> ||
                std::is_same_v<T, std::vector<double>> ||
                std::is_same_v<T, std::vector<std::string>>) {
    const toml::array* array = node->as_array();
    if (!array) {
      diagnostics_->add(node->source(), qualified, detail::type_mismatch(to_string(type), *node));
      return T{};
    }
    T values;
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      if (!detail::check_scalar_type(element, detail::element_type(type),
                                     detail::qualify_index(qualified, i), *diagnostics_)) {
        ok = false;
        continue;
      }
      values.push_back(read_scalar<typename T::value_type>(element));
    }
    return ok ? values : T{};
  } else {
    if (!detail::check_scalar_type(*node, type, qualified, *diagnostics_)) return T{};
    if constexpr (std::is_same_v<T, int>) {
      const std::int64_t value = node->as_integer()->get();
      if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
        diagnostics_->add(node->source(), qualified,
                          "must be between " + std::to_string(std::numeric_limits<int>::min()) +
                              " and " + std::to_string(std::numeric_limits<int>::max()) + " (got " +
                              std::to_string(value) + ")");
        return 0;
      }
      return static_cast<int>(value);
    } else {
      return read_scalar<T>(*node);
    }
  }
}

template ANVIL_SDK_API bool Options::get<bool>(std::string_view) const;
template ANVIL_SDK_API int Options::get<int>(std::string_view) const;
template ANVIL_SDK_API std::int64_t Options::get<std::int64_t>(std::string_view) const;
template ANVIL_SDK_API double Options::get<double>(std::string_view) const;
template ANVIL_SDK_API std::string Options::get<std::string>(std::string_view) const;
template ANVIL_SDK_API std::vector<std::int64_t> Options::get<std::vector<std::int64_t>>(
    std::string_view) const;
template ANVIL_SDK_API std::vector<double> Options::get<std::vector<double>>(
    std::string_view) const;
template ANVIL_SDK_API std::vector<std::string> Options::get<std::vector<std::string>>(
    std::string_view) const;

Options Options::child(std::string_view key) const {
  // An absent sub-table reads as empty: whether it must be present is the schema's business
  // (OptionSpec::required), and every read from the empty view reports its own missing key.
  static const toml::table kEmpty;
  const toml::node* node = table_->get(key);
  if (node && node->is_table()) return Options(*node->as_table(), qualify(key), *diagnostics_);
  if (node) diagnostics_->add(node->source(), qualify(key), detail::type_mismatch("table", *node));
  return Options(kEmpty, qualify(key), *diagnostics_);
}

void Options::error(std::string_view key, std::string message, std::string hint) const {
  const toml::node* node = table_->get(key);
  diagnostics_->add(node ? node->source() : table_->source(), qualify(key), std::move(message),
                    std::move(hint));
}

}  // namespace anvil
