// Registration of the "bpe" tokenizer: its options and the factory that reads them.
#include "bpe_tokenizer.h"
#include "pretokenizer.h"

#include <anvil/errors.h>
#include <anvil/option_binding.h>
#include <anvil/plugin.h>
#include <anvil/tokenizer.h>

#include <algorithm>

namespace {

using anvil::builtin::BpeTokenizerOptions;

anvil::OptionBinding<BpeTokenizerOptions> bpe_binding() {
  anvil::OptionBinding<BpeTokenizerOptions> binding;
  binding
      .bind("vocab_size", &BpeTokenizerOptions::vocab_size,
            "number of tokens train() learns, the special tokens and the 256 bytes included")
      .min(257);
  binding.bind("min_frequency", &BpeTokenizerOptions::min_frequency,
               "train(): a pair seen fewer times than this is never merged")
      .min(1);
  binding.bind("special_tokens", &BpeTokenizerOptions::special_tokens,
               "special tokens: ids 0..n-1 after training, matched in text before anything else "
               "(loaded files bring their own)");
  binding.bind("pretokenizer", &BpeTokenizerOptions::pretokenizer,
               "how text is cut into words before merging: \"gpt2\", \"gpt4\" or a PCRE2 regular "
               "expression (a loaded tokenizer.json brings its own)");
  binding.bind("allowed_special", &BpeTokenizerOptions::allowed_special,
               "special tokens recognised when spelled in the input: [\"all\"], a list of them, or "
               "[] (their text is then encoded as ordinary text)");
  // An unsigned count: declared here, read by the factory.
  binding.schema().add("max_input_bytes", 0, "train(): read at most this many bytes of the corpus; 0 = all").min(0);
  binding.bind("threads", &BpeTokenizerOptions::threads, "threads for training and batch encoding; 0 = all cores")
      .min(0);
  binding.bind("files", &BpeTokenizerOptions::files,
               "load a vocabulary at creation: a tokenizer.json, or a folder with tokenizer.json, "
               "vocab.json + merges.txt, or GPT-2's encoder.json + vocab.bpe (a relative path is "
               "relative to the current directory); \"\" = start untrained");
  return binding;
}

std::unique_ptr<anvil::builtin::BpeTokenizer> make_bpe(const anvil::OptionBinding<BpeTokenizerOptions>& binding,
                                                       const anvil::Options& options) {
  BpeTokenizerOptions o = binding.read(options);
  // Without files to load, the special tokens are known now: check the allow-list against them.
  if (o.files.empty())
    for (const std::string& token : o.allowed_special)
      if (token != "all" &&
          std::find(o.special_tokens.begin(), o.special_tokens.end(), token) == o.special_tokens.end())
        options.error("allowed_special", "'" + token + "' is not one of the special_tokens",
                      "list some of the special_tokens, \"all\", or nothing");
  o.max_input_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, options.get<std::int64_t>("max_input_bytes")));

  if (const std::string problem = anvil::special_tokens_problem(o.special_tokens); !problem.empty())
    options.error("special_tokens", problem);
  const auto minimum = 256 + static_cast<std::int64_t>(o.special_tokens.size());
  if (o.vocab_size < minimum)
    options.error("vocab_size",
                  "must be at least " + std::to_string(minimum) + " (256 bytes + " +
                      std::to_string(o.special_tokens.size()) + " special tokens), found " +
                      std::to_string(o.vocab_size));
  try {
    anvil::builtin::Pretokenizer check(o.pretokenizer);
  } catch (const anvil::Error& e) {
    options.error("pretokenizer", e.what(), e.hint());
  }
  options.diagnostics().throw_if_any();
  return std::make_unique<anvil::builtin::BpeTokenizer>(std::move(o));
}

void register_components(anvil::Registry& registry) {
  const auto binding = bpe_binding();
  registry.add<anvil::Tokenizer>("bpe", "Byte-level BPE (GPT-2 style), trained or loaded from "
                                        "Hugging Face / GPT-2 files",
                                 binding.schema(), [binding](const anvil::Options& options, const anvil::RunContext&) {
                                   return make_bpe(binding, options);
                                 });
}

}  // namespace

ANVIL_PLUGIN("tokenizer-bpe", "1.0.0", "Byte-level BPE tokenizer", "Apache-2.0",
             register_components)
