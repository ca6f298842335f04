// Text checks shared by tokenizer plugins.
#include <anvil/tokenizer.h>

#include <utf8proc.h>

namespace anvil {

bool is_valid_utf8(std::string_view s) {
  // utf8proc's decoder refuses exactly the ill-formed sequences of RFC 3629 (overlong forms,
  // surrogates, code points above U+10FFFF, truncated or stray continuation bytes).
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    utf8proc_int32_t code_point;
    const utf8proc_ssize_t length =
        utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(s.size() - i), &code_point);
    if (length <= 0) return false;
    i += static_cast<std::size_t>(length);
  }
  return true;
}

std::string special_tokens_problem(const std::vector<std::string>& specials) {
  for (std::size_t i = 0; i < specials.size(); ++i) {
    const std::string& s = specials[i];
    if (s.empty()) return "special token " + std::to_string(i) + " is empty";
    if (!is_valid_utf8(s)) return "special token " + std::to_string(i) + " is not valid UTF-8";
    for (std::size_t j = 0; j < i; ++j)
      if (specials[j] == s) return "special token \"" + s + "\" is listed twice";
  }
  return {};
}

}  // namespace anvil
