// OptionSchema: a component's declared options, and the validation of a manifest table against
// them (types, ranges, choices, required and unknown keys, defaults).

#include "option_format.h"

#include <anvil/options.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace anvil {

OptionSpec& OptionSchema::add(OptionSpec spec) { return insert(std::move(spec)); }

OptionSpec& OptionSchema::insert(OptionSpec spec) {
  ANVIL_CHECK(!spec.key().empty(), "an option needs a non-empty key");
  ANVIL_CHECK(find(spec.key()) == nullptr, "option '", spec.key(), "' is declared twice");
  specs_.push_back(std::move(spec));
  return specs_.back();
}

namespace {
OptionSpec with_default(std::string key,
                        OptionType type,
                        std::string doc,
                        const toml::node& value) {
  OptionSpec spec(std::move(key), type, std::move(doc));
  spec.default_node(value);
  return spec;
}
}  // namespace

OptionSpec& OptionSchema::add(std::string key, bool default_value, std::string doc) {
  return insert(with_default(std::move(key), OptionType::boolean, std::move(doc),
                             toml::value<bool>(default_value)));
}

OptionSpec& OptionSchema::add(std::string key, int default_value, std::string doc) {
  return add(std::move(key), static_cast<std::int64_t>(default_value), std::move(doc));
}

OptionSpec& OptionSchema::add(std::string key, std::int64_t default_value, std::string doc) {
  return insert(with_default(std::move(key), OptionType::integer, std::move(doc),
                             toml::value<std::int64_t>(default_value)));
}

OptionSpec& OptionSchema::add(std::string key, double default_value, std::string doc) {
  return insert(with_default(std::move(key), OptionType::floating, std::move(doc),
                             toml::value<double>(default_value)));
}

OptionSpec& OptionSchema::add(std::string key, const char* default_value, std::string doc) {
  return add(std::move(key), std::string(default_value), std::move(doc));
}

OptionSpec& OptionSchema::add(std::string key, std::string default_value, std::string doc) {
  return insert(with_default(std::move(key), OptionType::string, std::move(doc),
                             toml::value<std::string>(std::move(default_value))));
}

OptionSpec& OptionSchema::add(std::string key,
                              std::vector<std::int64_t> default_value,
                              std::string doc) {
  toml::array array;
  for (std::int64_t value : default_value) array.push_back(value);
  return insert(with_default(std::move(key), OptionType::integer_array, std::move(doc), array));
}

OptionSpec& OptionSchema::add(std::string key, std::vector<double> default_value, std::string doc) {
  toml::array array;
  for (double value : default_value) array.push_back(value);
  return insert(with_default(std::move(key), OptionType::floating_array, std::move(doc), array));
}

OptionSpec& OptionSchema::add(std::string key,
                              std::vector<std::string> default_value,
                              std::string doc) {
  toml::array array;
  for (std::string& value : default_value) array.push_back(std::move(value));
  return insert(with_default(std::move(key), OptionType::string_array, std::move(doc), array));
}

OptionSpec& OptionSchema::add(std::string key, OptionType type, std::string doc) {
  return insert(OptionSpec(std::move(key), type, std::move(doc)));
}

const OptionSpec* OptionSchema::find(std::string_view key) const noexcept {
  for (const OptionSpec& spec : specs_)
    if (spec.key() == key) return &spec;
  return nullptr;
}

namespace {

// Range check of one number (an option's value or an array element).
void check_range(const OptionSpec& spec,
                 const toml::node& node,
                 const std::string& key,
                 Diagnostics& diagnostics) {
  if (!spec.lower() && !spec.upper()) return;
  const double value = node.is_integer() ? static_cast<double>(node.as_integer()->get())
                                         : node.as_floating_point()->get();
  // Written as !(in range) so that nan is out of every range.
  const bool low_ok = !spec.lower() || value >= *spec.lower();
  const bool high_ok = !spec.upper() || value <= *spec.upper();
  if (low_ok && high_ok && !std::isnan(value)) return;
  std::string message;
  if (spec.lower() && spec.upper())
    message = "must be between " + detail::format_bound(*spec.lower()) + " and " +
              detail::format_bound(*spec.upper());
  else if (spec.lower())
    message = "must be >= " + detail::format_bound(*spec.lower());
  else
    message = "must be <= " + detail::format_bound(*spec.upper());
  message += " (got " + detail::format_number_node(node) + ")";
  diagnostics.add(node.source(), key, std::move(message));
}

// Choice check of one string (an option's value or an array element).
void check_choice(const OptionSpec& spec,
                  const toml::node& node,
                  const std::string& key,
                  Diagnostics& diagnostics) {
  if (spec.choices().empty()) return;
  const std::string& value = node.as_string()->get();
  if (std::find(spec.choices().begin(), spec.choices().end(), value) != spec.choices().end())
    return;
  const std::string match = closest_match(value, spec.choices());
  diagnostics.add(node.source(), key,
                  "must be one of " + detail::join_quoted(spec.choices()) + " (got " +
                      detail::render_brief(node) + ")",
                  match.empty() ? std::string() : "did you mean '" + match + "'?");
}

// Type and constraint checks of one scalar (the option's value or an array element).
bool check_scalar(const OptionSpec& spec,
                  OptionType scalar_type,
                  const toml::node& node,
                  const std::string& key,
                  Diagnostics& diagnostics) {
  if (!detail::check_scalar_type(node, scalar_type, key, diagnostics)) return false;
  if (scalar_type == OptionType::integer || scalar_type == OptionType::floating)
    check_range(spec, node, key, diagnostics);
  if (scalar_type == OptionType::string) check_choice(spec, node, key, diagnostics);
  return true;
}

// Checks the value of one declared option. Integers in float arrays are converted in place;
// returns true when the value itself is an integer that must become a float (the caller
// replaces it, since that changes the table it is iterating).
bool check_option(const OptionSpec& spec,
                  toml::node& node,
                  const std::string& key,
                  Diagnostics& diagnostics) {
  if (!detail::is_array_type(spec.type()))
    return check_scalar(spec, spec.type(), node, key, diagnostics) &&
           spec.type() == OptionType::floating && node.is_integer();

  toml::array* array = node.as_array();
  if (!array) {
    diagnostics.add(node.source(), key, detail::type_mismatch(to_string(spec.type()), node));
    return false;
  }
  const OptionType element = detail::element_type(spec.type());
  for (std::size_t i = 0; i < array->size(); ++i) {
    toml::node& item = *array->get(i);
    if (!check_scalar(spec, element, item, detail::qualify_index(key, i), diagnostics)) continue;
    if (element == OptionType::floating && item.is_integer()) {
      const double value = static_cast<double>(item.as_integer()->get());
      array->replace(array->cbegin() + static_cast<std::ptrdiff_t>(i),
                     detail::make_float_at(value, item.source()));
    }
  }
  return false;
}

}  // namespace

void OptionSchema::validate(toml::table& table,
                            const std::string& key_path,
                            Diagnostics& diagnostics,
                            const std::vector<std::string>& reserved) const {
  auto is_reserved = [&](std::string_view key) {
    return std::find(reserved.begin(), reserved.end(), key) != reserved.end();
  };

  std::vector<std::string> to_float;
  for (auto&& [key, node] : table) {
    const std::string name(key.str());
    if (is_reserved(name)) continue;
    const std::string qualified = detail::qualify(key_path, name);
    const OptionSpec* spec = find(name);
    if (!spec) {
      // Suggestions come from everything the table may hold, reserved keys first (that is
      // how a section is usually written: plugin = "...", then its options).
      std::vector<std::string> valid = reserved;
      for (const OptionSpec& declared : specs_) valid.push_back(declared.key());
      const std::string match = closest_match(name, valid);
      std::string hint;
      if (!match.empty())
        hint = "did you mean '" + match + "'?";
      else if (!valid.empty())
        hint = "valid keys: " + join(valid);
      else
        hint = detail::table_label(key_path) + " takes no keys";
      const toml::source_region& where = key.source().begin.line ? key.source() : node.source();
      diagnostics.add(where, qualified,
                      "unknown key '" + name + "' in " + detail::table_label(key_path),
                      std::move(hint));
      continue;
    }
    if (check_option(*spec, node, qualified, diagnostics)) to_float.push_back(name);
  }

  // Plugins read float options as doubles straight from the table, so integers written for
  // them are stored back as floats (at the same source position).
  for (const std::string& name : to_float) {
    const toml::node* node = table.get(name);
    const double value = static_cast<double>(node->as_integer()->get());
    table.insert_or_assign(name, detail::make_float_at(value, node->source()));
  }

  for (const OptionSpec& spec : specs_) {
    if (table.contains(spec.key())) continue;
    if (spec.is_required()) {
      std::string hint = "add " + detail::format_key(spec.key()) + " = <" +
                         std::string(to_string(spec.type())) + "> to " +
                         detail::table_label(key_path);
      std::string doc = spec.doc();
      while (!doc.empty() && (doc.back() == '.' || doc.back() == ' ')) doc.pop_back();
      if (!doc.empty()) hint += " (" + doc + ")";
      diagnostics.add(table.source(), detail::qualify(key_path, spec.key()),
                      "missing required key '" + spec.key() + "'", std::move(hint));
    } else if (const toml::node* value = spec.default_value()) {
      table.insert(spec.key(), *value);
    }
  }
}

}  // namespace anvil
