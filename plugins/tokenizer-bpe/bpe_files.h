#pragma once
// Reading and writing byte-level BPE vocabularies in the formats other tools use.
//
//  * Hugging Face `tokenizer.json`: model.type "BPE", model.vocab {spelling: id},
//    model.merges (either "left right" strings or ["left", "right"] pairs on reading; strings,
//    the form every version of `tokenizers` reads, on writing), added_tokens (each one is a
//    special token here: matched verbatim in text before pre-tokenization, whatever its
//    "special" flag), and the pre-tokenizer: ByteLevel with use_regex (GPT-2's pattern), or a
//    Sequence of Split {"Regex": pattern, behavior "Isolated"} and ByteLevel with use_regex
//    false. Anvil writes the second form, so the exact pattern travels with the file, and reads
//    its own "gpt2"/"gpt4" patterns back under those names. Options that change the encoding
//    and that Anvil does not implement (a normalizer, add_prefix_space, BPE dropout, byte
//    fallback, subword prefixes and suffixes, lstrip/rstrip/single_word added tokens) are
//    rejected rather than ignored; the decoder, post-processor, padding and truncation are not
//    read (they do not change token ids).
//  * `vocab.json` + `merges.txt` (Hugging Face's pair, optional "#version" first line) and
//    GPT-2's `encoder.json` + `vocab.bpe` (the same formats). These files do not mark special
//    tokens: a token that is neither a single byte nor the result of a merge is special, which
//    makes GPT-2's "<|endoftext|>" (id 50256) special.
//
// Every problem is an anvil::DataError naming the file and the field or line.

#include "bpe_model.h"
#include "pretokenizer.h"

#include <filesystem>
#include <memory>
#include <string>

namespace anvil::builtin {

/// The file names save() writes and load() looks for.
inline constexpr const char* kTokenizerJson = "tokenizer.json";
inline constexpr const char* kVocabJson = "vocab.json";
inline constexpr const char* kMergesTxt = "merges.txt";
inline constexpr const char* kGpt2Encoder = "encoder.json";
inline constexpr const char* kGpt2VocabBpe = "vocab.bpe";

/// What a set of files holds.
struct BpeLoaded {
  std::unique_ptr<BpeModel> model;
  /// The pre-tokenizer the file names (tokenizer.json only); null when the files name none.
  std::unique_ptr<Pretokenizer> pretokenizer;
  /// The files read, for messages.
  std::string description;
};

/// Reads a Hugging Face tokenizer.json.
BpeLoaded read_tokenizer_json(const std::filesystem::path& path);
/// Reads a vocab.json + merges.txt pair (or encoder.json + vocab.bpe).
BpeLoaded read_vocab_and_merges(const std::filesystem::path& vocab,
                                const std::filesystem::path& merges);
/// Reads `path`: a tokenizer.json file (any name), or a folder holding tokenizer.json, else
/// vocab.json + merges.txt, else encoder.json + vocab.bpe.
BpeLoaded read_bpe_files(const std::filesystem::path& path);

/// The text of a tokenizer.json for `model` and `pretokenizer` (deterministic: the same model
/// always gives the same bytes).
std::string tokenizer_json_text(const BpeModel& model, const Pretokenizer& pretokenizer);
/// The text of vocab.json: {"spelling": id, ...} on one line, in id order.
std::string vocab_json_text(const BpeModel& model);
/// The text of merges.txt: "#version: 0.2", then "left right" per line in rank order.
std::string merges_txt_text(const BpeModel& model);

/// Writes `text` to `path` through a temporary file and a rename. Throws anvil::Error.
void write_text_file(const std::filesystem::path& path, const std::string& text);

}  // namespace anvil::builtin
