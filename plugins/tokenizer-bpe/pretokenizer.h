#pragma once
// Splits text into the pieces ("words") that byte-level BPE merges within, with the same regular
// expressions GPT-2 and GPT-4 use. PCRE2 (JIT) runs them, so a user-supplied pattern behaves
// exactly like the built-in ones.

#include <string>
#include <string_view>
#include <vector>

namespace anvil::builtin {

/// GPT-2's pattern (r50k/p50k), with \s spelled as Unicode White_Space, as tiktoken's Rust
/// regex engine reads it.
extern const char* const kGpt2Pattern;
/// GPT-4's pattern (cl100k_base), same \s convention.
extern const char* const kGpt4Pattern;

/// A compiled pre-tokenizer. Immutable after construction and safe to share between threads.
class Pretokenizer {
 public:
  /// @param pattern "gpt2", "gpt4", or a PCRE2 regular expression (compiled with UTF, UCP and
  /// MATCH_INVALID_UTF). Throws anvil::Error naming the offset and PCRE2's message when the
  /// expression does not compile.
  explicit Pretokenizer(const std::string& pattern);
  ~Pretokenizer();
  Pretokenizer(const Pretokenizer&) = delete;
  Pretokenizer& operator=(const Pretokenizer&) = delete;

  /// Appends the pieces of `text` to `pieces`, in order, covering every byte: consecutive
  /// regex matches, and any bytes no match covers (invalid UTF-8) as pieces of their own, so
  /// concatenating the pieces gives `text` back.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;

  /// The name ("gpt2", "gpt4") or expression it was made from.
  const std::string& name() const noexcept { return name_; }
  /// The expression actually compiled.
  const std::string& expression() const noexcept { return expression_; }

 private:
  std::string name_;
  std::string expression_;
  void* code_ = nullptr;  // pcre2_code_8*; kept opaque so callers need not include pcre2.h
};

}  // namespace anvil::builtin
