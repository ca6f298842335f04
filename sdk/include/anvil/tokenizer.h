#pragma once
/// @file tokenizer.h
/// Interface of tokenizer components (kind "tokenizer").

#include <anvil/component.h>
#include <anvil/export.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anvil {

/// True when `text` is valid UTF-8 (RFC 3629: no overlong forms, surrogates, or code points
/// past U+10FFFF).
ANVIL_SDK_API bool is_valid_utf8(std::string_view text);

/// The first problem with a list of special tokens ("special token 2 is empty", "... is not
/// valid UTF-8", "special token \"x\" is listed twice"), or "" when there is none.
ANVIL_SDK_API std::string special_tokens_problem(const std::vector<std::string>& specials);

/// A stream of training documents (files, JSONL fields, an in-memory list, ...).
class ANVIL_SDK_API TextSource {
 public:
  /// Destroys the source.
  virtual ~TextSource();
  /// Stores the next document in `document` and returns true, or returns false at the end.
  virtual bool next(std::string& document) = 0;
};

/// A TextSource over documents held in memory.
class ANVIL_SDK_API VectorTextSource final : public TextSource {
 public:
  /// A source that yields `documents` in order.
  explicit VectorTextSource(std::vector<std::string> documents);
  /// The next document, if any.
  bool next(std::string& document) override;

 private:
  std::vector<std::string> documents_;
  std::size_t position_ = 0;
};

/// Maps text to token ids and back. Token ids are dense in [0, vocab_size()).
class ANVIL_SDK_API Tokenizer : public Component {
 public:
  /// The kind this interface is registered as (Registry::add<T>).
  static constexpr ComponentKind kKind = ComponentKind::tokenizer;

  /// Learns the vocabulary from `corpus`, replacing any previous one. Tokenizers without a
  /// learned vocabulary (bytes) may only record what they need.
  virtual void train(TextSource& corpus) = 0;
  /// Token ids of `text`. Any byte sequence is accepted (invalid UTF-8 must not throw).
  virtual std::vector<std::int32_t> encode(std::string_view text) const = 0;
  /// encode() of each text, computed on up to `threads` threads (0 = all cores). The default
  /// encodes one text after another; tokenizers override it when encode() is thread-safe.
  virtual std::vector<std::vector<std::int32_t>> encode_batch(const std::vector<std::string>& texts,
                                                              int threads = 0) const;
  /// Text of `ids`; decode(encode(x)) == x for every x the tokenizer can represent.
  /// Throws anvil::Error for an id outside the vocabulary.
  virtual std::string decode(const std::vector<std::int32_t>& ids) const = 0;
  /// Number of token ids, special tokens included.
  virtual std::int64_t vocab_size() const = 0;
  /// The special tokens, in id order.
  virtual std::vector<std::string> special_tokens() const = 0;
  /// The id of a special or ordinary token spelled exactly `token`, if there is one.
  virtual std::optional<std::int32_t> token_to_id(std::string_view token) const = 0;
  /// Writes the tokenizer's files into `dir` (created if needed).
  virtual void save(const std::filesystem::path& dir) const = 0;
  /// Reads files written by save() (or a compatible format) from `dir`.
  /// Throws anvil::DataError naming the file and line or field on malformed input.
  virtual void load(const std::filesystem::path& dir) = 0;
};

/// Optional second interface of a tokenizer: encoding in which the text of a special token is
/// ordinary text (tiktoken's encode_ordinary). `anvil data prepare` encodes documents this way
/// and appends the end-of-document id itself, so a document that quotes "<|endoftext|>" or
/// "[CLS]" keeps that text instead of being split or injected with control tokens.
///
/// The host finds it with dynamic_cast (as StepObserver), so tokenizers built against an older
/// SDK still load; for those, prepare calls encode() and refuses a document whose ids contain a
/// special token.
class ANVIL_SDK_API OrdinaryEncoder {
 public:
  virtual ~OrdinaryEncoder();
  /// Token ids of `text` with no special token matched: never a special id. Any byte sequence
  /// is accepted, and decode(encode_ordinary(x)) == x.
  virtual std::vector<std::int32_t> encode_ordinary(std::string_view text) const = 0;
  /// encode_ordinary() of each text on up to `threads` threads (0 = all cores).
  virtual std::vector<std::vector<std::int32_t>> encode_ordinary_batch(
      const std::vector<std::string>& texts, int threads = 0) const;
};

}  // namespace anvil
