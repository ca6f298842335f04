#include "pretokenizer.h"

#include <anvil/errors.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

namespace anvil::builtin {

// \s is written out as the Unicode White_Space set: PCRE2's UCP \s leaves out U+0085, and the
// reference (tiktoken, Rust regex) includes it.
#define ANVIL_WS "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" ANVIL_WS "\\p{L}\\p{N}]+|[" ANVIL_WS
    "]+(?![^" ANVIL_WS "])|[" ANVIL_WS "]+";

const char* const kGpt4Pattern =
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^" ANVIL_WS
    "\\p{L}\\p{N}]++[\\r\\n]*+|[" ANVIL_WS "]++$|[" ANVIL_WS "]*[\\r\\n]|[" ANVIL_WS
    "]+(?![^" ANVIL_WS "])|[" ANVIL_WS "]";

#undef ANVIL_WS

namespace {

pcre2_code* as_code(void* code) { return static_cast<pcre2_code*>(code); }

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread match state: match data sized for the pattern, and a JIT stack large enough for
// long runs of whitespace (the default 32 KiB overflows on `\s+(?!\S)` over megabytes).
struct MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  const void* owner = nullptr;
  ~MatchState() { reset(); }
  void reset() {
    if (data) pcre2_match_data_free(data);
    if (context) pcre2_match_context_free(context);
    if (stack) pcre2_jit_stack_free(stack);
    data = nullptr;
    context = nullptr;
    stack = nullptr;
    owner = nullptr;
  }
  void prepare(pcre2_code* code) {
    if (owner == code) return;
    reset();
    data = pcre2_match_data_create_from_pattern(code, nullptr);
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(context, nullptr, stack);
    owner = code;
  }
};

}  // namespace

Pretokenizer::Pretokenizer(const std::string& pattern) : name_(pattern) {
  if (pattern == "gpt2")
    expression_ = kGpt2Pattern;
  else if (pattern == "gpt4")
    expression_ = kGpt4Pattern;
  else
    expression_ = pattern;
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expression_.data()),
                                   expression_.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                                   &offset, nullptr);
  if (!code)
    throw Error("pre-tokenizer pattern does not compile at offset " + std::to_string(offset) +
                    ": " + pcre2_message(error),
                "use \"gpt2\", \"gpt4\" or a PCRE2 regular expression");
  // JIT is an optimisation: where it is unavailable, the interpreter gives the same matches.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  code_ = code;
}

Pretokenizer::~Pretokenizer() {
  if (code_) pcre2_code_free(as_code(code_));
}

void Pretokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  thread_local MatchState state;
  pcre2_code* code = as_code(code_);
  state.prepare(code);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t covered = 0;  // bytes of `text` already in `pieces`
  std::size_t start = 0;
  while (start < text.size()) {
    const int rc = pcre2_match(code, subject, text.size(), start, 0, state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw Error("pre-tokenizer failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    const std::size_t begin = ovector[0], end = ovector[1];
    if (begin > covered) pieces.push_back(text.substr(covered, begin - covered));
    if (end == begin) {
      // An empty match (possible with user patterns): step over one byte so the loop ends.
      start = end + 1;
      continue;
    }
    pieces.push_back(text.substr(begin, end - begin));
    covered = end;
    start = end;
  }
  if (covered < text.size()) pieces.push_back(text.substr(covered));
}

}  // namespace anvil::builtin
