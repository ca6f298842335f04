#pragma once
/// @file bpe_tokenizer.h
/// The "bpe" tokenizer: byte-level BPE as in GPT-2 (tiktoken's r50k_base gives the same ids for
/// GPT-2's files), trained by train_bpe or loaded from Hugging Face / GPT-2 files.
///
/// Encoding: with allowed_special "all", the special tokens spelled in the text are found first
/// (leftmost, the longest where several start at the same place) and become their ids; the text
/// between them is cut by the pre-tokenizer (pretokenizer.h) and each piece is BPE-merged
/// (bpe_model.h). With "none" special-token text is ordinary text. Any byte string is accepted
/// and decode(encode(x)) == x for every x: invalid UTF-8 is merged as bytes like anything else.
///
/// Ids: after train(), the special tokens are 0..n-1, the 256 bytes n..n+255 in byte order,
/// then one id per new merged token. Loaded files keep their own ids (GPT-2: bytes in its
/// order, "<|endoftext|>" last at 50256). Before train() or load(), the vocabulary is the
/// special tokens and the 256 bytes.
///
/// Files: save() writes tokenizer.json (Hugging Face) and the vocab.json + merges.txt pair;
/// load() reads tokenizer.json if present, else vocab.json + merges.txt, else GPT-2's
/// encoder.json + vocab.bpe (bpe_files.h). A load takes the special tokens from the files (and
/// the pre-tokenizer, from tokenizer.json); a failed load leaves the tokenizer as it was.

#include "bpe_model.h"
#include "pretokenizer.h"

#include <anvil/tokenizer.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::builtin {

/// Options of the bpe tokenizer (the manifest keys of the same names).
struct BpeTokenizerOptions {
  std::int64_t vocab_size = 32000;     ///< training target, special tokens and bytes included
  std::int64_t min_frequency = 2;      ///< training: pairs seen fewer times are never merged
  std::vector<std::string> special_tokens{"<|endoftext|>"};  ///< ids 0..n-1 after training
  std::string pretokenizer = "gpt2";   ///< "gpt2", "gpt4" or a PCRE2 expression
  /// Special tokens matched in text: "all", or the ones listed; [] matches none (their text is
  /// then encoded as ordinary text).
  std::vector<std::string> allowed_special{"all"};
  std::uint64_t max_input_bytes = 0;   ///< training reads at most this many bytes; 0 = all
  int threads = 0;                     ///< training and encode_batch(…, 0); 0 = all cores
  std::string files;                   ///< loaded at construction when not empty
};

/// Byte-level BPE tokenizer. encode(), encode_ordinary(), their batches and decode() are
/// thread-safe.
class BpeTokenizer final : public Tokenizer, public OrdinaryEncoder {
 public:
  /// Throws anvil::Error for invalid special tokens (empty, repeated, not UTF-8), a pattern
  /// that does not compile, or a vocab_size below 256 + the number of special tokens; and
  /// anvil::DataError when `files` cannot be loaded.
  explicit BpeTokenizer(BpeTokenizerOptions options = {});
  ~BpeTokenizer() override;

  void train(TextSource& corpus) override;
  std::vector<std::int32_t> encode(std::string_view text) const override;
  /// encode() of each text on up to `threads` threads; 0 means the `threads` option (whose 0
  /// means all cores).
  std::vector<std::vector<std::int32_t>> encode_batch(const std::vector<std::string>& texts,
                                                      int threads = 0) const override;
  std::string decode(const std::vector<std::int32_t>& ids) const override;
  std::int64_t vocab_size() const override { return model_->size(); }
  std::vector<std::string> special_tokens() const override;
  /// A special token's id by its text; else the ordinary token that stands for exactly the
  /// bytes of `token` (" world"); else the ordinary token spelled `token` in the vocabulary's
  /// byte-level alphabet ("Ġworld"), as in vocab.json.
  std::optional<std::int32_t> token_to_id(std::string_view token) const override;
  void save(const std::filesystem::path& dir) const override;
  /// Reads `path`: a folder (tokenizer.json, else vocab.json + merges.txt, else encoder.json +
  /// vocab.bpe) or a tokenizer.json file.
  void load(const std::filesystem::path& path) override;

  /// Encodes text with no special-token matching (allowed_special "none").
  std::vector<std::int32_t> encode_ordinary(std::string_view text) const override;
  /// encode_ordinary() of each text, threaded as encode_batch().
  std::vector<std::vector<std::int32_t>> encode_ordinary_batch(const std::vector<std::string>& texts,
                                                               int threads = 0) const override;
  const BpeModel& model() const noexcept { return *model_; }
  const Pretokenizer& pretokenizer() const noexcept { return *pretokenizer_; }
  const BpeTokenizerOptions& options() const noexcept { return options_; }

 private:
  // Installs `model` and the special tokens matched in text (allowed_special); with
  // `check_allowed`, an allowed_special entry the model does not have is an error.
  void set_model(std::unique_ptr<BpeModel> model, bool check_allowed = true);
  void encode_span(std::string_view text, std::vector<std::int32_t>& ids,
                   std::vector<std::string_view>& pieces) const;

  BpeTokenizerOptions options_;
  std::unique_ptr<Pretokenizer> pretokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::vector<std::int32_t> specials_longest_first_;  // special ids, longest text first
  std::array<bool, 256> special_first_byte_{};
};

}  // namespace anvil::builtin
