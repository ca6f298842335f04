#pragma once
/// @file option_binding.h
/// Options declared once. Each manifest key is bound to a member of the component's options
/// struct: the member's type is the option's type, its initial value the default, and the same
/// binding reads the validated table back into a struct. The key is written in one place,
/// instead of once in the schema and again in the factory.
///
/// @code
///   struct SgdOptions { double lr = 0.01; double momentum = 0.0; bool nesterov = false; };
///
///   anvil::OptionBinding<SgdOptions> sgd_options() {
///     anvil::OptionBinding<SgdOptions> binding;
///     binding.bind("lr", &SgdOptions::lr, "base learning rate").min(0.0);
///     binding.bind("momentum", &SgdOptions::momentum, "momentum factor").range(0.0, 1.0);
///     binding.bind("nesterov", &SgdOptions::nesterov, "use Nesterov momentum");
///     return binding;
///   }
///
///   const auto binding = sgd_options();
///   registry.add<anvil::Optimizer>("sgd", "...", binding.schema(),
///       [binding](const anvil::Options& options, const anvil::RunContext&) {
///         return std::make_unique<Sgd>(binding.read(options));
///       });
/// @endcode
///
/// Header-only: the schema handed to the registry is an ordinary OptionSchema, so binding adds
/// nothing to the plugin ABI.

#include <anvil/options.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

namespace anvil {

/// The options of one component, bound to the members of `Struct` (default-constructible; its
/// default member values are the options' defaults).
template <class Struct>
class OptionBinding {
 public:
  /// Options whose defaults are the members of `defaults` (the struct's own by default).
  explicit OptionBinding(Struct defaults = Struct{}) : defaults_(std::move(defaults)) {}

  /// Declares option `key` of the member's type (bool, int, std::int64_t, std::size_t (an
  /// integer at least 0), double, std::string, or std::vector of std::int64_t, double or
  /// std::string) with the member's initial value as
  /// its default. Returns the spec for ranges and choices: .min(), .range(), .one_of().
  template <class T>
  OptionSpec& bind(std::string key, T Struct::*member, std::string doc) {
    if constexpr (std::is_same_v<T, std::size_t>) {
      // A count or a length: an integer option, never negative.
      readers_.push_back([key, member](const Options& options, Struct& out) {
        out.*member = static_cast<std::size_t>(options.template get<std::int64_t>(key));
      });
      return schema_.add(std::move(key), static_cast<std::int64_t>(defaults_.*member), std::move(doc)).min(0);
    } else {
      readers_.push_back([key, member](const Options& options, Struct& out) {
        out.*member = options.template get<T>(key);
      });
      return schema_.add(std::move(key), defaults_.*member, std::move(doc));
    }
  }

  /// Declares option `key` as a string naming one of `choices` and reads it into an enum (or
  /// any equality-comparable) member: the schema lists the names, its default is the name of
  /// the member's initial value.
  template <class E>
  OptionSpec& bind_choice(std::string key, E Struct::*member,
                          std::vector<std::pair<std::string, E>> choices, std::string doc) {
    std::vector<std::string> names;
    std::string default_name;
    for (const auto& [name, value] : choices) {
      names.push_back(name);
      if (value == defaults_.*member) default_name = name;
    }
    readers_.push_back([key, member, choices](const Options& options, Struct& out) {
      const std::string name = options.template get<std::string>(key);
      for (const auto& [choice, value] : choices)
        if (choice == name) out.*member = value;  // validation allowed only these names
    });
    return schema_.add(std::move(key), default_name, std::move(doc)).one_of(std::move(names));
  }

  /// Declares every option of `inner` too, read into the member `part` (options shared by a
  /// family of components, such as a decoder's widths inside a larger model's options).
  template <class Inner>
  void include(const OptionBinding<Inner>& inner, Inner Struct::*part) {
    for (const OptionSpec& spec : inner.schema().specs()) schema_.add(spec);
    readers_.push_back([inner, part](const Options& options, Struct& out) { out.*part = inner.read(options); });
  }

  /// The schema: every bound option, plus any added to it directly (keys a factory reads by
  /// hand, such as a pair of numbers kept in a std::array).
  const OptionSchema& schema() const noexcept { return schema_; }
  OptionSchema& schema() noexcept { return schema_; }

  /// Every bound member, read from `options` (validated against schema()). A problem is
  /// recorded in options.diagnostics() and leaves the member value-initialised, as
  /// Options::get does.
  Struct read(const Options& options) const {
    Struct out = defaults_;
    for (const auto& reader : readers_) reader(options, out);
    return out;
  }

 private:
  Struct defaults_;
  OptionSchema schema_;
  std::vector<std::function<void(const Options&, Struct&)>> readers_;
};

}  // namespace anvil
