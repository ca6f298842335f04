// Byte-level BPE vocabulary files (bpe_files.h).
#include "bpe_files.h"

#include "byte_level.h"

#include <anvil/errors.h>
#include <anvil/toml_text.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace anvil::builtin {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot read " + path.string() + ": no such file or not readable");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError("cannot read " + path.string() + ": read error");
  return text;
}

// "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." ->
// "<source>: invalid JSON at byte offset 4 (line 1, column 5): syntax error ...".
Json parse_json(const std::string& text, const std::string& source) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    std::string detail = e.what();
    if (const auto close = detail.find("] "); close != std::string::npos)
      detail.erase(0, close + 2);
    std::string where;
    const std::string lead = "parse error at ";
    if (detail.compare(0, lead.size(), lead) == 0) {
      const auto colon = detail.find(": ");
      if (colon != std::string::npos) {
        where = " (" + detail.substr(lead.size(), colon - lead.size()) + ")";
        detail.erase(0, colon + 2);
      }
    }
    // e.byte counts the bytes read, the offending one included: its offset is one less.
    const std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    throw DataError(source + ": invalid JSON at byte offset " + std::to_string(offset) + where +
                    ": " + detail);
  }
}

// "an object", "a string", ... for "found ..." messages.
std::string a_type(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

const Json* member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  return found == object.end() ? nullptr : &*found;
}

std::optional<std::int32_t> as_id(const Json& j) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
      return static_cast<std::int32_t>(v);
  } else if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v >= 0 && v <= std::numeric_limits<std::int32_t>::max()) return static_cast<std::int32_t>(v);
  }
  return std::nullopt;
}

// A vocabulary object {spelling: id}; entries in the object's (sorted) order. `where` prefixes
// every message ("<file>" or "<file>: model.vocab").
std::vector<std::pair<std::string, std::int32_t>> read_vocab_object(const Json& vocab,
                                                                     const std::string& where) {
  if (!vocab.is_object())
    throw DataError(where + ": expected an object mapping tokens to ids, found " + a_type(vocab));
  std::vector<std::pair<std::string, std::int32_t>> entries;
  entries.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const auto id = as_id(it.value());
    if (!id)
      throw DataError(where + ": " + in_quotes(it.key()) + ": expected a non-negative integer id, found " +
                      it.value().dump());
    if (it.key().empty()) throw DataError(where + ": a token is the empty string");
    entries.emplace_back(it.key(), *id);
  }
  return entries;
}

// Fails on the first duplicate id in `entries` (token, id).
void check_unique_ids(std::vector<std::pair<std::string, std::int32_t>> entries,
                      const std::string& where) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });
  for (std::size_t i = 1; i < entries.size(); ++i)
    if (entries[i].second == entries[i - 1].second)
      throw DataError(where + ": " + in_quotes(entries[i - 1].first) + " and " +
                      in_quotes(entries[i].first) + " both have id " +
                      std::to_string(entries[i].second));
}

// Tokens by id from unique (token, id) pairs, which must cover 0..n-1.
std::vector<std::string> dense_tokens(const std::vector<std::pair<std::string, std::int32_t>>& entries,
                                      const std::string& where, const std::string& holders) {
  std::vector<std::int32_t> ids;
  ids.reserve(entries.size());
  for (const auto& entry : entries) ids.push_back(entry.second);
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] != static_cast<std::int32_t>(i))
      throw DataError(where + ": ids are not contiguous: no token" + holders + " has id " +
                      std::to_string(i) + " (the largest is " + std::to_string(ids.back()) + ")");
  if (ids.empty()) throw DataError(where + ": the vocabulary is empty");
  std::vector<std::string> tokens(entries.size());
  for (const auto& [token, id] : entries) tokens[static_cast<std::size_t>(id)] = token;
  return tokens;
}

// Resolves merges given as spelling pairs. `where(k)` names merge k for messages ("<file>:17" or
// "<file>: model.merges[16]"); `vocab_name` is where tokens come from ("vocab.json").
struct MergeReader {
  const std::unordered_map<std::string, std::int32_t>& ids;
  std::string vocab_name;
  std::unordered_map<std::uint64_t, std::size_t> seen;
  std::vector<BpeMerge> merges;

  std::int32_t lookup(const std::string& token, const std::string& where) const {
    const auto found = ids.find(token);
    if (found == ids.end()) throw DataError(where + ": " + in_quotes(token) + " is not in " + vocab_name);
    return found->second;
  }

  // Returns the index of an earlier identical merge, or -1 after adding this one.
  std::ptrdiff_t add(const std::string& left, const std::string& right, const std::string& where) {
    BpeMerge m;
    m.left = lookup(left, where);
    m.right = lookup(right, where);
    const auto found = ids.find(left + right);
    if (found == ids.end())
      throw DataError(where + ": " + in_quotes(left + right) + " (" + in_quotes(left) + " + " +
                      in_quotes(right) + ") is not in " + vocab_name);
    m.merged = found->second;
    const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(m.left)) << 32) |
                              static_cast<std::uint32_t>(m.right);
    const auto [it, inserted] = seen.emplace(key, merges.size());
    if (!inserted) return static_cast<std::ptrdiff_t>(it->second);
    merges.push_back(m);
    return -1;
  }
};

std::unordered_map<std::string, std::int32_t> index_of(const std::vector<std::string>& tokens) {
  std::unordered_map<std::string, std::int32_t> ids;
  ids.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) ids.emplace(tokens[i], static_cast<std::int32_t>(i));
  return ids;
}

std::unique_ptr<BpeModel> build_model(BpeDefinition definition, const std::string& where) {
  try {
    return std::make_unique<BpeModel>(std::move(definition));
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {
    throw DataError(where + ": " + e.what());
  }
}

bool is_true(const Json* j) { return j && j->is_boolean() && j->get<bool>(); }

// The ByteLevel pre-tokenizer at `where`; `after_split` when a Split comes before it.
void check_byte_level(const Json& p, const std::string& where, bool after_split) {
  if (is_true(member(p, "add_prefix_space")))
    throw DataError(where + ".add_prefix_space: true is not supported");
  const Json* use_regex = member(p, "use_regex");
  const bool regex = use_regex == nullptr || !use_regex->is_boolean() || use_regex->get<bool>();
  if (after_split && regex)
    throw DataError(where + ".use_regex: must be false after a Split (it would split again)");
  if (!after_split && !regex)
    throw DataError(where + ".use_regex: false is not supported without a Split before it");
}

std::string type_of_pretokenizer(const Json& p) {
  const Json* type = member(p, "type");
  return type && type->is_string() ? type->get<std::string>() : std::string();
}

// The pattern named by the pre_tokenizer of a tokenizer.json: "gpt2", "gpt4" or a regex.
std::string read_pre_tokenizer(const Json& root, const std::string& source) {
  const std::string where = source + ": pre_tokenizer";
  const std::string expected = "expected ByteLevel, or a Sequence of Split and ByteLevel";
  const Json* p = member(root, "pre_tokenizer");
  if (!p) throw DataError(where + ": missing; " + expected);
  const std::string type = type_of_pretokenizer(*p);
  if (type == "ByteLevel") {
    check_byte_level(*p, where, false);
    return "gpt2";
  }
  if (type != "Sequence")
    throw DataError(where + ": " + expected + ", found " + (type.empty() ? a_type(*p) : in_quotes(type)));
  const Json* list = member(*p, "pretokenizers");
  const std::string list_where = where + ".pretokenizers";
  if (!list || !list->is_array())
    throw DataError(list_where + ": expected an array, found " + (list ? a_type(*list) : "nothing"));
  const auto item = [&](std::size_t i) { return list_where + "[" + std::to_string(i) + "]"; };
  if (list->size() == 1 && type_of_pretokenizer((*list)[0]) == "ByteLevel") {
    check_byte_level((*list)[0], item(0), false);
    return "gpt2";
  }
  if (list->size() != 2 || type_of_pretokenizer((*list)[0]) != "Split" ||
      type_of_pretokenizer((*list)[1]) != "ByteLevel")
    throw DataError(list_where + ": expected [Split, ByteLevel] or [ByteLevel]");
  const Json& split = (*list)[0];
  const Json* pattern = member(split, "pattern");
  const Json* regex = pattern ? member(*pattern, "Regex") : nullptr;
  if (!regex || !regex->is_string())
    throw DataError(item(0) + ".pattern: expected {\"Regex\": \"...\"}");
  const Json* behavior = member(split, "behavior");
  if (!behavior || !behavior->is_string() || behavior->get<std::string>() != "Isolated")
    throw DataError(item(0) + ".behavior: expected \"Isolated\", found " +
                    (behavior ? behavior->dump() : "nothing"));
  if (is_true(member(split, "invert"))) throw DataError(item(0) + ".invert: true is not supported");
  check_byte_level((*list)[1], item(1), true);
  const std::string expression = regex->get<std::string>();
  if (expression == kGpt2Pattern) return "gpt2";
  if (expression == kGpt4Pattern) return "gpt4";
  return expression;
}

std::unique_ptr<Pretokenizer> compile(const std::string& pattern, const std::string& where) {
  try {
    return std::make_unique<Pretokenizer>(pattern);
  } catch (const Error& e) {
    throw DataError(where + ": " + e.what());
  }
}

void append_json_string(std::string& out, const std::string& s) { out += quote_string(s); }

}  // namespace

BpeLoaded read_tokenizer_json(const fs::path& path) {
  const std::string source = path.string();
  const Json root = parse_json(read_text(path), source);
  if (!root.is_object())
    throw DataError(source + ": expected a JSON object at the top level, found " + a_type(root));

  if (const Json* normalizer = member(root, "normalizer"); normalizer && !normalizer->is_null())
    throw DataError(source + ": normalizer: expected null (normalizers are not supported), found " +
                    a_type(*normalizer));

  const Json* model = member(root, "model");
  if (!model) throw DataError(source + ": model: missing");
  if (!model->is_object())
    throw DataError(source + ": model: expected an object, found " + a_type(*model));
  const Json* type = member(*model, "type");
  if (!type) throw DataError(source + ": model.type: missing");
  if (!type->is_string() || type->get<std::string>() != "BPE")
    throw DataError(source + ": model.type: expected \"BPE\", found " + type->dump());
  if (const Json* dropout = member(*model, "dropout"); dropout && !dropout->is_null())
    throw DataError(source + ": model.dropout: expected null (BPE dropout is not supported)");
  if (is_true(member(*model, "byte_fallback")))
    throw DataError(source + ": model.byte_fallback: true is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const Json* affix = member(*model, key);
    if (affix && !affix->is_null() && !(affix->is_string() && affix->get<std::string>().empty()))
      throw DataError(source + ": model." + key + ": expected null or \"\" (not supported)");
  }
  bool ignore_merges = false;
  if (const Json* flag = member(*model, "ignore_merges"); flag && !flag->is_null()) {
    if (!flag->is_boolean())
      throw DataError(source + ": model.ignore_merges: expected a boolean, found " + a_type(*flag));
    ignore_merges = flag->get<bool>();
  }

  const std::string vocab_where = source + ": model.vocab";
  const Json* vocab = member(*model, "vocab");
  if (!vocab) throw DataError(vocab_where + ": missing");
  auto entries = read_vocab_object(*vocab, vocab_where);
  check_unique_ids(entries, vocab_where);
  std::unordered_map<std::int32_t, std::string> vocab_by_id;
  std::unordered_map<std::string, std::int32_t> vocab_by_token;
  for (const auto& [token, id] : entries) {
    vocab_by_id.emplace(id, token);
    vocab_by_token.emplace(token, id);
  }

  // Added tokens: in model.vocab with the same id, or new ids of their own.
  std::vector<std::pair<std::string, std::int32_t>> added;
  if (const Json* list = member(root, "added_tokens"); list && !list->is_null()) {
    if (!list->is_array())
      throw DataError(source + ": added_tokens: expected an array, found " + a_type(*list));
    std::unordered_map<std::int32_t, std::size_t> added_ids;
    std::unordered_map<std::string, std::size_t> added_contents;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Json& t = (*list)[i];
      const std::string where = source + ": added_tokens[" + std::to_string(i) + "]";
      const Json* id_value = member(t, "id");
      const Json* content_value = member(t, "content");
      const auto id = id_value ? as_id(*id_value) : std::nullopt;
      if (!id || !content_value || !content_value->is_string())
        throw DataError(where + ": expected an object with an integer \"id\" and a string \"content\"");
      const std::string content = content_value->get<std::string>();
      if (content.empty()) throw DataError(where + ".content: must not be empty");
      for (const char* key : {"lstrip", "rstrip", "single_word"})
        if (is_true(member(t, key))) throw DataError(where + "." + key + ": true is not supported");
      if (const auto [it, fresh] = added_ids.emplace(*id, i); !fresh)
        throw DataError(where + ": id " + std::to_string(*id) + " is already used by added_tokens[" +
                        std::to_string(it->second) + "]");
      if (const auto [it, fresh] = added_contents.emplace(content, i); !fresh)
        throw DataError(where + ": " + in_quotes(content) + " is already added_tokens[" +
                        std::to_string(it->second) + "]");
      if (const auto at = vocab_by_id.find(*id); at != vocab_by_id.end() && at->second != content)
        throw DataError(where + ": id " + std::to_string(*id) + " is " + in_quotes(at->second) +
                        " in model.vocab, not " + in_quotes(content));
      if (const auto at = vocab_by_token.find(content); at != vocab_by_token.end() && at->second != *id)
        throw DataError(where + ": " + in_quotes(content) + " has id " + std::to_string(at->second) +
                        " in model.vocab, not " + std::to_string(*id));
      added.emplace_back(content, *id);
    }
  }
  for (const auto& [content, id] : added)
    if (vocab_by_id.find(id) == vocab_by_id.end()) entries.emplace_back(content, id);

  BpeDefinition definition;
  definition.tokens = dense_tokens(entries, source, " in model.vocab or added_tokens");
  definition.special.assign(definition.tokens.size(), false);
  for (const auto& entry : added) definition.special[static_cast<std::size_t>(entry.second)] = true;
  definition.ignore_merges = ignore_merges;

  const Json* merges = member(*model, "merges");
  if (!merges) throw DataError(source + ": model.merges: missing");
  if (!merges->is_array())
    throw DataError(source + ": model.merges: expected an array, found " + a_type(*merges));
  const auto ids = index_of(definition.tokens);
  MergeReader reader{ids, "model.vocab", {}, {}};
  reader.merges.reserve(merges->size());
  std::vector<std::size_t> index_of_merge;  // position in model.merges of each merge kept
  for (std::size_t k = 0; k < merges->size(); ++k) {
    const Json& m = (*merges)[k];
    const std::string where = source + ": model.merges[" + std::to_string(k) + "]";
    std::string left, right;
    bool ok = false;
    if (m.is_string()) {
      const std::string text = m.get<std::string>();
      const auto space = text.find(' ');
      if (space != std::string::npos && text.find(' ', space + 1) == std::string::npos) {
        left = text.substr(0, space);
        right = text.substr(space + 1);
        ok = !left.empty() && !right.empty();
      }
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
      ok = !left.empty() && !right.empty();
    }
    if (!ok) throw DataError(where + ": expected \"left right\" or [\"left\", \"right\"]");
    for (const std::string* part : {&left, &right})
      if (const auto it = ids.find(*part); it != ids.end() && definition.special[static_cast<std::size_t>(it->second)])
        throw DataError(where + ": " + in_quotes(*part) + " is an added (special) token");
    const std::ptrdiff_t earlier = reader.add(left, right, where);
    if (earlier >= 0)
      throw DataError(where + ": repeats model.merges[" +
                      std::to_string(index_of_merge[static_cast<std::size_t>(earlier)]) + "]");
    index_of_merge.push_back(k);
    if (definition.special[static_cast<std::size_t>(reader.merges.back().merged)])
      throw DataError(where + ": makes " + in_quotes(left + right) + ", an added (special) token");
  }
  definition.merges = std::move(reader.merges);

  const std::string pattern = read_pre_tokenizer(root, source);
  BpeLoaded loaded;
  loaded.pretokenizer = compile(pattern, source + ": pre_tokenizer");
  loaded.model = build_model(std::move(definition), vocab_where);
  loaded.description = source;
  return loaded;
}

BpeLoaded read_vocab_and_merges(const fs::path& vocab_path, const fs::path& merges_path) {
  const std::string vocab_source = vocab_path.string();
  const std::string merges_source = merges_path.string();
  const Json vocab = parse_json(read_text(vocab_path), vocab_source);
  const std::string merges_text = read_text(merges_path);

  auto entries = read_vocab_object(vocab, vocab_source);
  check_unique_ids(entries, vocab_source);
  BpeDefinition definition;
  definition.tokens = dense_tokens(entries, vocab_source, "");
  const auto ids = index_of(definition.tokens);

  MergeReader reader{ids, vocab_path.filename().string(), {}, {}};
  std::vector<std::size_t> line_of_merge;
  std::size_t line_number = 0;
  for (std::size_t start = 0; start < merges_text.size();) {
    std::size_t end = merges_text.find('\n', start);
    if (end == std::string::npos) end = merges_text.size();
    std::string line = merges_text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number == 1 && line.compare(0, 8, "#version") == 0) continue;
    const std::string where = merges_source + ":" + std::to_string(line_number);
    const auto space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos)
      throw DataError(where + ": expected two tokens separated by a space");
    const std::ptrdiff_t earlier = reader.add(line.substr(0, space), line.substr(space + 1), where);
    if (earlier >= 0)
      throw DataError(where + ": repeats line " +
                      std::to_string(line_of_merge[static_cast<std::size_t>(earlier)]));
    line_of_merge.push_back(line_number);
  }

  // Special tokens are those that are neither a byte, nor made or used by a merge.
  definition.special.assign(definition.tokens.size(), true);
  for (int b = 0; b < 256; ++b)
    if (const auto it = ids.find(byte_to_symbol(static_cast<std::uint8_t>(b))); it != ids.end())
      definition.special[static_cast<std::size_t>(it->second)] = false;
  for (const BpeMerge& m : reader.merges)
    for (const std::int32_t id : {m.left, m.right, m.merged})
      definition.special[static_cast<std::size_t>(id)] = false;
  definition.merges = std::move(reader.merges);

  BpeLoaded loaded;
  loaded.model = build_model(std::move(definition), vocab_source);
  loaded.description = vocab_source + " and " + merges_source;
  return loaded;
}

BpeLoaded read_bpe_files(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return read_tokenizer_json(path);
  if (!fs::is_directory(path, ec))
    throw DataError("cannot read " + path.string() + ": no such file or directory",
                    "give a tokenizer.json, or a folder with tokenizer.json, vocab.json and "
                    "merges.txt, or encoder.json and vocab.bpe");
  const auto has = [&](const char* name) { return fs::exists(path / name, ec); };
  if (has(kTokenizerJson)) return read_tokenizer_json(path / kTokenizerJson);
  if (has(kVocabJson) || has(kMergesTxt))
    return read_vocab_and_merges(path / kVocabJson, path / kMergesTxt);
  if (has(kGpt2Encoder) || has(kGpt2VocabBpe))
    return read_vocab_and_merges(path / kGpt2Encoder, path / kGpt2VocabBpe);
  throw DataError("no tokenizer files in " + path.string() +
                  ": expected tokenizer.json, vocab.json and merges.txt, or encoder.json and "
                  "vocab.bpe");
}

std::string tokenizer_json_text(const BpeModel& model, const Pretokenizer& pretokenizer) {
  std::string out;
  out.reserve(static_cast<std::size_t>(model.size()) * 24 + model.merges().size() * 16 + 1024);
  out += "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
  out += "  \"added_tokens\": [";
  const auto& specials = model.special_ids();
  for (std::size_t i = 0; i < specials.size(); ++i) {
    out += i ? ",\n    " : "\n    ";
    out += "{\"id\": " + std::to_string(specials[i]) + ", \"content\": ";
    append_json_string(out, model.spelling(specials[i]));
    out += ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
           "\"normalized\": false, \"special\": true}";
  }
  out += specials.empty() ? "],\n" : "\n  ],\n";
  out += "  \"normalizer\": null,\n";
  out += "  \"pre_tokenizer\": {\n    \"type\": \"Sequence\",\n    \"pretokenizers\": [\n";
  out += "      {\"type\": \"Split\", \"pattern\": {\"Regex\": ";
  append_json_string(out, pretokenizer.expression());
  out += "}, \"behavior\": \"Isolated\", \"invert\": false},\n";
  out += "      {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
         "\"use_regex\": false}\n    ]\n  },\n";
  out += "  \"post_processor\": null,\n";
  out += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
         "\"trim_offsets\": true, \"use_regex\": false},\n";
  // "" rather than null for the affixes: every version of tokenizers reads a string there (the
  // oldest ones do not take null), and "" means no affix, as on the Hub's GPT-2 tokenizer.json.
  out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
         "    \"continuing_subword_prefix\": \"\",\n    \"end_of_word_suffix\": \"\",\n"
         "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n";
  out += std::string("    \"ignore_merges\": ") + (model.ignore_merges() ? "true" : "false") + ",\n";
  out += "    \"vocab\": {";
  for (std::int32_t id = 0; id < model.size(); ++id) {
    out += id ? ",\n      " : "\n      ";
    append_json_string(out, model.spelling(id));
    out += ": " + std::to_string(id);
  }
  out += model.size() ? "\n    },\n" : "},\n";
  out += "    \"merges\": [";
  const auto& merges = model.merges();
  for (std::size_t k = 0; k < merges.size(); ++k) {
    out += k ? ",\n      " : "\n      ";
    append_json_string(out, model.spelling(merges[k].left) + " " + model.spelling(merges[k].right));
  }
  out += merges.empty() ? "]\n" : "\n    ]\n";
  out += "  }\n}\n";
  return out;
}

std::string vocab_json_text(const BpeModel& model) {
  std::string out = "{";
  for (std::int32_t id = 0; id < model.size(); ++id) {
    if (id) out += ",";
    append_json_string(out, model.spelling(id));
    out += ":" + std::to_string(id);
  }
  out += "}\n";
  return out;
}

std::string merges_txt_text(const BpeModel& model) {
  std::string out = "#version: 0.2\n";
  for (const BpeMerge& m : model.merges()) {
    out += model.spelling(m.left);
    out += ' ';
    out += model.spelling(m.right);
    out += '\n';
  }
  return out;
}

void write_text_file(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw Error("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    throw Error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
}

}  // namespace anvil::builtin
