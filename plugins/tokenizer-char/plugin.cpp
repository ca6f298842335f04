// Registration of the "char" tokenizer: its options and the factory that reads them.
#include "char_tokenizer.h"

#include <anvil/option_binding.h>
#include <anvil/plugin.h>
#include <anvil/tokenizer.h>

namespace {

using anvil::builtin::CharMode;
using anvil::builtin::CharTokenizerOptions;

anvil::OptionBinding<CharTokenizerOptions> char_binding() {
  anvil::OptionBinding<CharTokenizerOptions> binding;
  binding.bind_choice("mode", &CharTokenizerOptions::mode,
                      {{"bytes", CharMode::bytes}, {"codepoints", CharMode::codepoints}},
                      "one token per byte (\"bytes\") or per code point seen in training, with "
                      "byte fallback (\"codepoints\")");
  binding.bind("special_tokens", &CharTokenizerOptions::special_tokens,
               "special tokens (ids 0..n-1, matched in text before anything else)");
  return binding;
}

void register_components(anvil::Registry& registry) {
  const auto binding = char_binding();
  registry.add<anvil::Tokenizer>(
      "char", "Byte or code-point tokenizer with byte fallback", binding.schema(),
      [binding](const anvil::Options& options, const anvil::RunContext&) {
        CharTokenizerOptions o = binding.read(options);
        if (const std::string problem = anvil::special_tokens_problem(o.special_tokens); !problem.empty())
          options.error("special_tokens", problem);
        options.diagnostics().throw_if_any();
        return std::make_unique<anvil::builtin::CharTokenizer>(std::move(o));
      });
}

}  // namespace

ANVIL_PLUGIN(
    "tokenizer-char", "1.0.0", "Byte and code-point tokenizers", "Apache-2.0", register_components)
