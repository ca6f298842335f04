// OptionBinding: one declaration per key gives the schema (type, default from the struct,
// bounds) and reads the validated table back into the struct.
#include <anvil/option_binding.h>

#include <catch2/catch.hpp>
#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

struct Example {
  double rate = 0.5;
  std::int64_t count = 3;
  bool flag = false;
  std::string mode = "fast";
  std::vector<std::int64_t> sizes{1, 2};
};

anvil::OptionBinding<Example> example_binding() {
  anvil::OptionBinding<Example> binding;
  binding.bind("rate", &Example::rate, "a rate").range(0.0, 1.0);
  binding.bind("count", &Example::count, "a count").min(1);
  binding.bind("flag", &Example::flag, "a flag");
  binding.bind("mode", &Example::mode, "a mode").one_of({"fast", "slow"});
  binding.bind("sizes", &Example::sizes, "sizes");
  return binding;
}

}  // namespace

TEST_CASE("an option binding declares each key once, with the struct's default", "[sdk][options]") {
  const anvil::OptionBinding<Example> binding = example_binding();
  const anvil::OptionSchema& schema = binding.schema();
  REQUIRE(schema.specs().size() == 5);
  CHECK(schema.find("rate")->type() == anvil::OptionType::floating);
  CHECK(schema.find("rate")->default_text() == "0.5");
  CHECK(schema.find("count")->type() == anvil::OptionType::integer);
  CHECK(schema.find("count")->default_text() == "3");
  CHECK(schema.find("flag")->default_text() == "false");
  CHECK(schema.find("mode")->default_text() == "\"fast\"");
  CHECK(schema.find("mode")->choices() == std::vector<std::string>{"fast", "slow"});
  CHECK(schema.find("sizes")->type() == anvil::OptionType::integer_array);
}

namespace {
enum class Speed { fast, slow };
struct WithEnum {
  Speed speed = Speed::slow;
};
}  // namespace

TEST_CASE("an option binding reads a choice into an enum member", "[sdk][options]") {
  anvil::OptionBinding<WithEnum> binding;
  binding.bind_choice("speed", &WithEnum::speed, {{"fast", Speed::fast}, {"slow", Speed::slow}}, "speed");
  const anvil::OptionSpec& spec = *binding.schema().find("speed");
  CHECK(spec.type() == anvil::OptionType::string);
  CHECK(spec.default_text() == "\"slow\"");
  CHECK(spec.choices() == std::vector<std::string>{"fast", "slow"});
  for (const auto& [text, expected] : {std::pair{"fast", Speed::fast}, std::pair{"slow", Speed::slow}}) {
    toml::table table{{"speed", text}};
    anvil::Diagnostics diagnostics;
    binding.schema().validate(table, "example", diagnostics);
    REQUIRE(diagnostics.items().empty());
    CHECK(binding.read(anvil::Options(table, "example", diagnostics)).speed == expected);
  }
  toml::table wrong{{"speed", "warp"}};
  anvil::Diagnostics diagnostics;
  binding.schema().validate(wrong, "example", diagnostics);
  CHECK(diagnostics.items().size() == 1);  // refused by validation, before any read
}

TEST_CASE("an option binding reads the validated table into the struct", "[sdk][options]") {
  const anvil::OptionBinding<Example> binding = example_binding();
  toml::table table = toml::parse("rate = 0.25\nmode = \"slow\"\nsizes = [4]\n");
  anvil::Diagnostics diagnostics;
  binding.schema().validate(table, "example", diagnostics);
  REQUIRE(diagnostics.items().empty());
  const Example read = binding.read(anvil::Options(table, "example", diagnostics));
  CHECK(read.rate == 0.25);
  CHECK(read.count == 3);  // the default, filled in by validation
  CHECK_FALSE(read.flag);
  CHECK(read.mode == "slow");
  CHECK(read.sizes == std::vector<std::int64_t>{4});
  CHECK(diagnostics.items().empty());

  toml::table bad = toml::parse("rate = 2.0\ncount = 0\nmode = \"medium\"\n");
  anvil::Diagnostics problems;
  binding.schema().validate(bad, "example", problems);
  CHECK(problems.items().size() == 3);  // each bound key's bounds are checked
}
