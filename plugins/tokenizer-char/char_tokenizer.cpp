// The char tokenizer (see char_tokenizer.h for the id layout and the file format).
#include "char_tokenizer.h"


#include <anvil/errors.h>
#include <anvil/toml_text.h>

#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <numeric>
#include <sstream>
#include <system_error>

namespace anvil::builtin {

namespace {

// "number", "string", ... as JSON names them ("number" for integers and floats alike).
std::string json_type_name(const nlohmann::json& value) {
  return value.is_number() ? "number" : value.type_name();
}

// Parses a whole tokenizer.json. Syntax errors are DataErrors "<source>:<line>:<column>: ...";
// a key repeated in one object is one too (nlohmann would keep the last silently).
nlohmann::json parse_json(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> keys;  // of each object being parsed
  const auto check_keys = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::object_start) keys.emplace_back();
    if (event == nlohmann::json::parse_event_t::object_end) keys.pop_back();
    if (event == nlohmann::json::parse_event_t::key) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (std::find(keys.back().begin(), keys.back().end(), key) != keys.back().end())
        throw DataError(source + ": duplicate key \"" + key + "\" in an object");
      keys.back().push_back(key);
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, check_keys);
  } catch (const nlohmann::json::parse_error& error) {
    // The position of the last character read, 1-based, as line and column.
    const std::size_t end = std::min<std::size_t>(error.byte, text.size() + 1);
    std::size_t line = 1, column = end;
    for (std::size_t i = 0; i + 1 < end; ++i)
      if (text[i] == '\n') {
        ++line;
        column = end - i - 1;
      }
    std::string message = error.what();
    const std::size_t detail = message.find("syntax error");
    message = detail == std::string::npos ? message : message.substr(detail);
    if (message.find("expected end of input") != std::string::npos)
      message = "unexpected text after the JSON value";
    throw DataError(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message);
  }
}

}  // namespace

std::string_view to_string(CharMode mode) {
  return mode == CharMode::bytes ? "bytes" : "codepoints";
}

std::optional<CharMode> parse_char_mode(std::string_view text) {
  if (text == "bytes") return CharMode::bytes;
  if (text == "codepoints") return CharMode::codepoints;
  return std::nullopt;
}

Utf8Char utf8_decode_at(std::string_view text, std::size_t pos) {
  // utf8proc refuses what RFC 3629 calls ill-formed: overlong forms, surrogates, code points
  // above U+10FFFF, truncated sequences and stray continuation bytes.
  utf8proc_int32_t code_point;
  const utf8proc_ssize_t length =
      utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data()) + pos,
                       static_cast<utf8proc_ssize_t>(text.size() - pos), &code_point);
  if (length <= 0) return {};
  return {static_cast<char32_t>(code_point), static_cast<std::size_t>(length)};
}

namespace {


}  // namespace

CharTokenizer::CharTokenizer(CharTokenizerOptions options) : mode_(options.mode) {
  if (const std::string problem = anvil::special_tokens_problem(options.special_tokens); !problem.empty())
    throw Error("char tokenizer: " + problem,
                "special tokens must be distinct, non-empty UTF-8 strings");
  set_specials(std::move(options.special_tokens));
}

void CharTokenizer::set_specials(std::vector<std::string> specials) {
  specials_ = std::move(specials);
  specials_longest_first_.resize(specials_.size());
  std::iota(specials_longest_first_.begin(), specials_longest_first_.end(), std::size_t{0});
  // Longest first, so that a special token that extends another one wins.
  std::stable_sort(
      specials_longest_first_.begin(), specials_longest_first_.end(),
      [&](std::size_t a, std::size_t b) { return specials_[a].size() > specials_[b].size(); });
  special_first_byte_.fill(false);
  for (const std::string& s : specials_)
    special_first_byte_[static_cast<unsigned char>(s[0])] = true;
}

std::optional<std::size_t> CharTokenizer::match_special(std::string_view text,
                                                        std::size_t pos) const {
  if (!special_first_byte_[static_cast<unsigned char>(text[pos])]) return std::nullopt;
  for (const std::size_t k : specials_longest_first_)
    if (text.compare(pos, specials_[k].size(), specials_[k]) == 0) return k;
  return std::nullopt;
}

void CharTokenizer::train(TextSource& corpus) {
  std::string document;
  if (mode_ == CharMode::bytes) {
    // Nothing to learn, but the caller expects the source to be consumed.
    while (corpus.next(document)) {
    }
    return;
  }
  // A bitmap over all of Unicode (139 KiB) is simpler and faster than a set here.
  std::vector<bool> seen(0x110000, false);
  while (corpus.next(document)) {
    const std::string_view text = document;
    for (std::size_t pos = 0; pos < text.size();) {
      // Text inside a special token is never encoded as code points, so it teaches nothing.
      if (const auto k = match_special(text, pos)) {
        pos += specials_[*k].size();
        continue;
      }
      const Utf8Char c = utf8_decode_at(text, pos);
      if (c.length == 0) {
        ++pos;  // invalid UTF-8 is left to the byte fallback
        continue;
      }
      seen[c.codepoint] = true;
      pos += c.length;
    }
  }
  codepoints_.clear();
  for (char32_t cp = 0; cp < 0x110000; ++cp)
    if (seen[cp]) codepoints_.push_back(cp);
}

std::vector<std::int32_t> CharTokenizer::encode(std::string_view text) const {
  return encode_text(text, /*match_specials=*/true);
}

std::vector<std::int32_t> CharTokenizer::encode_ordinary(std::string_view text) const {
  return encode_text(text, /*match_specials=*/false);
}

std::vector<std::int32_t> CharTokenizer::encode_text(std::string_view text, bool match_specials) const {
  std::vector<std::int32_t> ids;
  ids.reserve(text.size());
  const auto first_codepoint_id = static_cast<std::int32_t>(specials_.size());
  for (std::size_t pos = 0; pos < text.size();) {
    if (const auto k = match_specials ? match_special(text, pos) : std::nullopt) {
      ids.push_back(static_cast<std::int32_t>(*k));
      pos += specials_[*k].size();
      continue;
    }
    if (mode_ == CharMode::bytes) {
      ids.push_back(byte_id(static_cast<unsigned char>(text[pos++])));
      continue;
    }
    const Utf8Char c = utf8_decode_at(text, pos);
    if (c.length == 0) {
      ids.push_back(byte_id(static_cast<unsigned char>(text[pos++])));
      continue;
    }
    const auto it = std::lower_bound(codepoints_.begin(), codepoints_.end(), c.codepoint);
    if (it != codepoints_.end() && *it == c.codepoint) {
      ids.push_back(first_codepoint_id + static_cast<std::int32_t>(it - codepoints_.begin()));
    } else {
      // Unseen code point: spell its bytes. Special tokens are valid UTF-8, so none can start
      // inside this sequence and skipping all of it loses no match.
      for (std::size_t i = 0; i < c.length; ++i)
        ids.push_back(byte_id(static_cast<unsigned char>(text[pos + i])));
    }
    pos += c.length;
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<std::int32_t>& ids) const {
  const auto n_special = static_cast<std::int64_t>(specials_.size());
  const std::int64_t first_byte = n_special + static_cast<std::int64_t>(codepoints_.size());
  const std::int64_t vocab = vocab_size();
  std::string out;
  out.reserve(ids.size());
  for (const std::int32_t id : ids) {
    if (id < 0 || id >= vocab)
      throw Error("char tokenizer: cannot decode token id " + std::to_string(id) +
                  ": the vocabulary has ids 0.." + std::to_string(vocab - 1));
    if (id < n_special)
      out += specials_[static_cast<std::size_t>(id)];
    else if (id < first_byte)
      append_utf8(out, codepoints_[static_cast<std::size_t>(id - n_special)]);
    else
      out.push_back(static_cast<char>(static_cast<unsigned char>(id - first_byte)));
  }
  return out;
}

std::int64_t CharTokenizer::vocab_size() const {
  return static_cast<std::int64_t>(specials_.size() + codepoints_.size()) + 256;
}

std::optional<std::int32_t> CharTokenizer::token_to_id(std::string_view token) const {
  // A token is "spelled exactly" by `token` when encoding it yields that single id.
  for (std::size_t k = 0; k < specials_.size(); ++k)
    if (specials_[k] == token) return static_cast<std::int32_t>(k);
  if (token.empty()) return std::nullopt;
  const std::vector<std::int32_t> ids = encode(token);
  if (ids.size() == 1) return ids[0];
  return std::nullopt;
}

void CharTokenizer::save(const std::filesystem::path& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw Error("char tokenizer: cannot create directory " + dir.string() + ": " + ec.message());

  std::string text = "{\n  \"type\": \"char\",\n  \"mode\": ";
  text += quote_string(to_string(mode_));
  text += ",\n  \"special_tokens\": [";
  for (std::size_t i = 0; i < specials_.size(); ++i)
    text += (i ? ", " : "") + quote_string(specials_[i]);
  text += "],\n  \"codepoints\": [";
  for (std::size_t i = 0; i < codepoints_.size(); ++i) {
    if (i) text += i % 16 == 0 ? ",\n    " : ", ";
    text += std::to_string(static_cast<std::uint32_t>(codepoints_[i]));
  }
  text += "]\n}\n";

  // Write next to the target and rename, so a crash never leaves a half-written tokenizer.json.
  const std::filesystem::path path = dir / kCharTokenizerFile;
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw Error("char tokenizer: cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw Error("char tokenizer: cannot rename " + tmp.string() + " to " + path.string() + ": " +
                ec.message());
}

void CharTokenizer::load(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / kCharTokenizerFile;
  const std::string source = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw DataError("cannot read " + source + ": no such file or not readable",
                    "the directory must contain a tokenizer.json written by the char tokenizer");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  const nlohmann::json root = parse_json(text, source);
  const auto field_error = [&](const std::string& field, const std::string& message) {
    return DataError(source + ": field \"" + field + "\": " + message);
  };
  if (!root.is_object())
    throw DataError(source + ": expected a JSON object at the top level, found " +
                    json_type_name(root));
  const auto require = [&](const char* field, nlohmann::json::value_t type) -> const nlohmann::json& {
    const auto found = root.find(field);
    if (found == root.end()) throw field_error(field, "missing");
    if (found->type() != type)
      throw field_error(field, "expected " + std::string(nlohmann::json(type).type_name()) + ", found " +
                                   json_type_name(*found));
    return *found;
  };

  const std::string& type = require("type", nlohmann::json::value_t::string).get_ref<const std::string&>();
  if (type != "char") throw field_error("type", "expected \"char\", found \"" + type + "\"");

  const std::string& mode_text = require("mode", nlohmann::json::value_t::string).get_ref<const std::string&>();
  const auto mode = parse_char_mode(mode_text);
  if (!mode)
    throw field_error("mode", "expected \"bytes\" or \"codepoints\", found \"" + mode_text + "\"");

  std::vector<std::string> specials;
  const nlohmann::json& specials_value = require("special_tokens", nlohmann::json::value_t::array);
  for (std::size_t i = 0; i < specials_value.size(); ++i) {
    const nlohmann::json& special = specials_value[i];
    if (!special.is_string())
      throw field_error("special_tokens[" + std::to_string(i) + "]",
                        "expected string, found " + json_type_name(special));
    specials.push_back(special.get<std::string>());
  }
  if (const std::string problem = anvil::special_tokens_problem(specials); !problem.empty())
    throw field_error("special_tokens", problem);

  std::vector<char32_t> codepoints;
  const nlohmann::json& cps = require("codepoints", nlohmann::json::value_t::array);
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const nlohmann::json& value = cps[i];
    const std::string field = "codepoints[" + std::to_string(i) + "]";
    if (!value.is_number_integer()) throw field_error(field, "expected an integer code point");
    // nlohmann keeps every non-negative integer unsigned: a signed one is negative.
    const std::uint64_t cp = value.is_number_unsigned() ? value.get<std::uint64_t>() : 0;
    if (!value.is_number_unsigned() || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      throw field_error(field, value.dump() + " is not a Unicode scalar value");
    if (!codepoints.empty() && static_cast<char32_t>(cp) <= codepoints.back())
      throw field_error(field, "code points must be strictly ascending");
    codepoints.push_back(static_cast<char32_t>(cp));
  }
  if (*mode == CharMode::bytes && !codepoints.empty())
    throw field_error("codepoints", "must be empty in bytes mode");

  // Everything checked: commit (a failed load leaves the tokenizer unchanged).
  mode_ = *mode;
  set_specials(std::move(specials));
  codepoints_ = std::move(codepoints);
}

}  // namespace anvil::builtin
