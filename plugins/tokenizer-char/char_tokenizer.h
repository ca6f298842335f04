#pragma once
/// @file char_tokenizer.h
/// The "char" tokenizer: one token per byte, or one token per Unicode code point seen in
/// training with a byte fallback, plus special tokens. Needs no torch headers.
///
/// Id layout (n = number of special tokens, C = number of learned code points):
///   [0, n)            special tokens, in the order given
///   [n, n + C)        code points, ascending (codepoints mode only; C = 0 in bytes mode)
///   [n + C, n + C + 256)  raw bytes 0x00..0xFF
/// so vocab_size() = n + C + 256 and every byte string round-trips, invalid UTF-8 included.
///
/// Encoding scans left to right. At each position a special token spelled there wins (except in
/// encode_ordinary) (the
/// longest one if several match); otherwise bytes mode emits the byte, and codepoints mode
/// emits the code point of a well-formed UTF-8 sequence (RFC 3629) when it is in the vocabulary,
/// else the sequence's bytes, and a lone byte for anything that is not well-formed.
///
/// Files: save() writes `tokenizer.json`:
///   {"type": "char", "mode": "bytes"|"codepoints", "special_tokens": [strings],
///    "codepoints": [ascending integers]}
/// load() reads it back and takes mode and special tokens from the file.

#include <anvil/tokenizer.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::builtin {

/// What one ordinary token stands for.
enum class CharMode {
  bytes,       ///< a byte; no training needed
  codepoints,  ///< a Unicode code point learned by train(), with byte fallback
};

/// "bytes" / "codepoints".
std::string_view to_string(CharMode mode);
/// Inverse of to_string; std::nullopt for anything else.
std::optional<CharMode> parse_char_mode(std::string_view text);

/// Options of the char tokenizer (the manifest keys of the same names).
struct CharTokenizerOptions {
  CharMode mode = CharMode::bytes;
  /// Non-empty, distinct, valid UTF-8; ids 0..n-1 in this order.
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
};

/// Name of the file save() writes and load() reads.
inline constexpr const char* kCharTokenizerFile = "tokenizer.json";

class CharTokenizer final : public Tokenizer, public OrdinaryEncoder {
 public:
  /// Throws anvil::Error when a special token is empty, repeated or not valid UTF-8.
  explicit CharTokenizer(CharTokenizerOptions options = {});

  void train(TextSource& corpus) override;
  std::vector<std::int32_t> encode(std::string_view text) const override;
  /// encode() with special-token text encoded as ordinary characters.
  std::vector<std::int32_t> encode_ordinary(std::string_view text) const override;
  std::string decode(const std::vector<std::int32_t>& ids) const override;
  std::int64_t vocab_size() const override;
  std::vector<std::string> special_tokens() const override { return specials_; }
  std::optional<std::int32_t> token_to_id(std::string_view token) const override;
  void save(const std::filesystem::path& dir) const override;
  void load(const std::filesystem::path& dir) override;

  CharMode mode() const noexcept { return mode_; }
  /// The learned code points, ascending (empty in bytes mode and before training).
  const std::vector<char32_t>& codepoints() const noexcept { return codepoints_; }
  /// The id of raw byte `b`.
  std::int32_t byte_id(unsigned char b) const noexcept {
    return static_cast<std::int32_t>(specials_.size() + codepoints_.size()) + b;
  }

 private:
  void set_specials(std::vector<std::string> specials);
  /// Index of the longest special token spelled at text[pos], if any.
  std::optional<std::size_t> match_special(std::string_view text, std::size_t pos) const;
  std::vector<std::int32_t> encode_text(std::string_view text, bool match_specials) const;

  CharMode mode_ = CharMode::bytes;
  std::vector<std::string> specials_;
  std::vector<std::size_t> specials_longest_first_;  // indices into specials_
  std::array<bool, 256> special_first_byte_{};       // fast reject before match_special
  std::vector<char32_t> codepoints_;                 // ascending, unique
};

/// The code point of the well-formed UTF-8 sequence at text[pos] and its length in bytes, or
/// length 0 when the bytes there are not well-formed (overlong, surrogate, > U+10FFFF,
/// truncated or a stray continuation byte).
struct Utf8Char {
  char32_t codepoint = 0;
  std::size_t length = 0;
};
Utf8Char utf8_decode_at(std::string_view text, std::size_t pos);

}  // namespace anvil::builtin
