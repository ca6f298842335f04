#include "byte_level.h"

#include <anvil/toml_text.h>

#include <unordered_map>

namespace anvil::builtin {
namespace {

// bytes_to_unicode() from GPT-2's encoder.py: printable Latin-1 bytes map to themselves, the
// other 68 bytes to U+0100 onwards, in byte order.
struct Alphabet {
  std::array<std::string, 256> symbol;
  std::unordered_map<char32_t, std::uint8_t> byte_of;
  Alphabet() {
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
      append_utf8(symbol[b], cp);
      byte_of[cp] = static_cast<std::uint8_t>(b);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet table;
  return table;
}

}  // namespace

const std::string& byte_to_symbol(std::uint8_t b) { return alphabet().symbol[b]; }

std::string bytes_to_symbols(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += alphabet().symbol[static_cast<std::uint8_t>(c)];
  return out;
}

bool symbols_to_bytes(std::string_view symbols, std::string& bytes) {
  const auto& byte_of = alphabet().byte_of;
  std::size_t i = 0;
  while (i < symbols.size()) {
    const auto lead = static_cast<unsigned char>(symbols[i]);
    // The alphabet is U+0021..U+0143: one or two UTF-8 bytes.
    char32_t cp;
    if (lead < 0x80) {
      cp = lead;
      i += 1;
    } else if ((lead & 0xE0) == 0xC0 && i + 1 < symbols.size()) {
      cp = (static_cast<char32_t>(lead & 0x1F) << 6) |
           (static_cast<unsigned char>(symbols[i + 1]) & 0x3F);
      i += 2;
    } else {
      return false;
    }
    const auto found = byte_of.find(cp);
    if (found == byte_of.end()) return false;
    bytes.push_back(static_cast<char>(found->second));
  }
  return true;
}

}  // namespace anvil::builtin
