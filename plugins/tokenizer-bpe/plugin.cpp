// Registration of the "bpe" tokenizer: its options and the factory that reads them.
#include "bpe_tokenizer.h"
#include "pretokenizer.h"

#include <anvil/errors.h>
#include <anvil/plugin.h>
#include <anvil/tokenizer.h>

#include <algorithm>

namespace {

anvil::OptionSchema bpe_schema() {
  anvil::OptionSchema schema;
  schema
      .add("vocab_size", 32000,
           "number of tokens train() learns, the special tokens and the 256 bytes included")
      .min(257);
  schema.add("min_frequency", 2, "train(): a pair seen fewer times than this is never merged")
      .min(1);
  schema.add("special_tokens", std::vector<std::string>{"<|endoftext|>"},
             "special tokens: ids 0..n-1 after training, matched in text before anything else "
             "(loaded files bring their own)");
  schema.add("pretokenizer", "gpt2",
             "how text is cut into words before merging: \"gpt2\", \"gpt4\" or a PCRE2 regular "
             "expression (a loaded tokenizer.json brings its own)");
  schema.add("allowed_special", std::vector<std::string>{"all"},
             "special tokens recognised when spelled in the input: [\"all\"], a list of them, or "
             "[] (their text is then encoded as ordinary text)");
  schema.add("max_input_bytes", 0, "train(): read at most this many bytes of the corpus; 0 = all")
      .min(0);
  schema.add("threads", 0, "threads for training and batch encoding; 0 = all cores").min(0);
  schema.add("files", "",
             "load a vocabulary at creation: a tokenizer.json, or a folder with tokenizer.json, "
             "vocab.json + merges.txt, or GPT-2's encoder.json + vocab.bpe (a relative path is "
             "relative to the current directory); \"\" = start untrained");
  return schema;
}

std::unique_ptr<anvil::builtin::BpeTokenizer> make_bpe(const anvil::Options& options,
                                                       const anvil::RunContext&) {
  anvil::builtin::BpeTokenizerOptions o;
  o.vocab_size = options.get<std::int64_t>("vocab_size");
  o.min_frequency = options.get<std::int64_t>("min_frequency");
  o.special_tokens = options.get<std::vector<std::string>>("special_tokens");
  o.pretokenizer = options.get<std::string>("pretokenizer");
  o.files = options.get<std::string>("files");
  o.allowed_special = options.get<std::vector<std::string>>("allowed_special");
  // Without files to load, the special tokens are known now: check the allow-list against them.
  if (o.files.empty())
    for (const std::string& token : o.allowed_special)
      if (token != "all" &&
          std::find(o.special_tokens.begin(), o.special_tokens.end(), token) == o.special_tokens.end())
        options.error("allowed_special", "'" + token + "' is not one of the special_tokens",
                      "list some of the special_tokens, \"all\", or nothing");
  o.max_input_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, options.get<std::int64_t>("max_input_bytes")));
  o.threads = options.get<int>("threads");

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
  registry.add<anvil::Tokenizer>("bpe", "Byte-level BPE (GPT-2 style), trained or loaded from "
                                        "Hugging Face / GPT-2 files",
                                 bpe_schema(), make_bpe);
}

}  // namespace

ANVIL_PLUGIN("tokenizer-bpe", "1.0.0", "Byte-level BPE tokenizer", "Apache-2.0",
             register_components)
