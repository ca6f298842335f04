#pragma once
// GPT-2's byte-level alphabet: every byte maps to one printable Unicode character, so any byte
// string is a string of visible "characters" that BPE can merge and vocab files can store.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace anvil::builtin {

/// The UTF-8 text of the character byte `b` maps to (GPT-2's bytes_to_unicode()).
const std::string& byte_to_symbol(std::uint8_t b);

/// Encodes raw bytes as byte-level symbols ("Ġhello" for " hello").
std::string bytes_to_symbols(std::string_view bytes);

/// Decodes byte-level symbols back to raw bytes. Returns false when `symbols` contains a
/// character outside the byte-level alphabet.
bool symbols_to_bytes(std::string_view symbols, std::string& bytes);

}  // namespace anvil::builtin
