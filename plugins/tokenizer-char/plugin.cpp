// Registration of the "char" tokenizer: its options and the factory that reads them.
#include "char_tokenizer.h"

#include <anvil/plugin.h>
#include <anvil/tokenizer.h>

namespace {

anvil::OptionSchema char_schema() {
  anvil::OptionSchema schema;
  schema
      .add("mode", "bytes",
           "one token per byte (\"bytes\") or per code point seen in training, with byte "
           "fallback (\"codepoints\")")
      .one_of({"bytes", "codepoints"});
  schema.add("special_tokens", std::vector<std::string>{"<|endoftext|>"},
             "special tokens (ids 0..n-1, matched in text before anything else)");
  return schema;
}

std::unique_ptr<anvil::builtin::CharTokenizer> make_char(const anvil::Options& options,
                                                         const anvil::RunContext&) {
  anvil::builtin::CharTokenizerOptions o;
  // The schema restricts the choices, so an unknown mode cannot get here; keep the default.
  o.mode = anvil::builtin::parse_char_mode(options.get<std::string>("mode"))
               .value_or(anvil::builtin::CharMode::bytes);
  o.special_tokens = options.get<std::vector<std::string>>("special_tokens");
  if (const std::string problem = anvil::special_tokens_problem(o.special_tokens); !problem.empty())
    options.error("special_tokens", problem);
  options.diagnostics().throw_if_any();
  return std::make_unique<anvil::builtin::CharTokenizer>(std::move(o));
}

void register_components(anvil::Registry& registry) {
  registry.add<anvil::Tokenizer>("char", "Byte or code-point tokenizer with byte fallback",
                                 char_schema(), make_char);
}

}  // namespace

ANVIL_PLUGIN(
    "tokenizer-char", "1.0.0", "Byte and code-point tokenizers", "Apache-2.0", register_components)
