// The "bpe" tokenizer (bpe_tokenizer.h).
#include "bpe_tokenizer.h"

#include "bpe_files.h"
#include "bpe_trainer.h"
#include "byte_level.h"

#include <anvil/errors.h>
#include <anvil/parallel.h>

#include <algorithm>
#include <exception>
#include <system_error>
#include <unordered_map>

namespace anvil::builtin {
namespace {

// encode_span's windows (see there).
constexpr std::size_t kSplitWindowBytes = 256 * 1024;
constexpr std::size_t kSplitMarginBytes = 16;

}  // namespace

BpeTokenizer::BpeTokenizer(BpeTokenizerOptions options) : options_(std::move(options)) {
  if (const std::string problem = anvil::special_tokens_problem(options_.special_tokens); !problem.empty())
    throw Error("bpe tokenizer: " + problem,
                "special tokens must be distinct, non-empty UTF-8 strings");
  const auto minimum = 256 + static_cast<std::int64_t>(options_.special_tokens.size());
  if (options_.vocab_size < minimum)
    throw Error("bpe tokenizer: vocab_size " + std::to_string(options_.vocab_size) +
                    " is smaller than the 256 byte tokens plus " +
                    std::to_string(options_.special_tokens.size()) + " special tokens",
                "set vocab_size to at least " + std::to_string(minimum));
  pretokenizer_ = std::make_unique<Pretokenizer>(options_.pretokenizer);

  // Untrained: the special tokens, then the 256 bytes.
  BpeDefinition definition;
  definition.tokens = options_.special_tokens;
  definition.special.assign(definition.tokens.size(), true);
  for (int b = 0; b < 256; ++b) {
    definition.tokens.push_back(byte_to_symbol(static_cast<std::uint8_t>(b)));
    definition.special.push_back(false);
  }
  try {
    // With files to load, allowed_special is checked against their special tokens instead.
    set_model(std::make_unique<BpeModel>(std::move(definition)), options_.files.empty());
  } catch (const Error& e) {
    throw Error(std::string("bpe tokenizer: ") + e.what());
  }
  if (!options_.files.empty()) load(options_.files);
}

BpeTokenizer::~BpeTokenizer() = default;

void BpeTokenizer::set_model(std::unique_ptr<BpeModel> model, bool check_allowed) {
  // Everything is worked out before anything changes, so a refused model leaves the
  // tokenizer as it was.
  const auto& allowed = options_.allowed_special;
  const bool all = std::find(allowed.begin(), allowed.end(), "all") != allowed.end();
  const std::vector<std::int32_t> special_ids = model->special_ids();
  const auto spelled = [&](const std::string& token) {
    return std::any_of(special_ids.begin(), special_ids.end(),
                       [&](std::int32_t id) { return model->spelling(id) == token; });
  };
  if (check_allowed)
    for (const std::string& token : allowed)
      if (token != "all" && !spelled(token))
        throw Error("allowed_special lists '" + token +
                        "', which is not a special token of this vocabulary",
                    "list some of the special tokens, \"all\", or nothing");
  std::vector<std::int32_t> matched;
  for (const std::int32_t id : special_ids)
    if (all || std::find(allowed.begin(), allowed.end(), model->spelling(id)) != allowed.end())
      matched.push_back(id);
  std::stable_sort(matched.begin(), matched.end(), [&](std::int32_t a, std::int32_t b) {
    return model->spelling(a).size() > model->spelling(b).size();
  });
  model_ = std::move(model);
  specials_longest_first_ = std::move(matched);
  special_first_byte_.fill(false);
  for (const std::int32_t id : specials_longest_first_)
    special_first_byte_[static_cast<unsigned char>(model_->spelling(id)[0])] = true;
}

void BpeTokenizer::train(TextSource& corpus) {
  BpeTrainOptions train_options;
  train_options.vocab_size = options_.vocab_size;
  train_options.min_frequency = options_.min_frequency;
  train_options.special_tokens = options_.special_tokens;
  train_options.threads = options_.threads;
  train_options.max_input_bytes = options_.max_input_bytes;
  BpeVocabulary vocabulary = train_bpe(corpus, *pretokenizer_, train_options);

  BpeDefinition definition;
  definition.special.assign(vocabulary.tokens.size(), false);
  for (std::size_t i = 0; i < vocabulary.special_tokens.size() && i < vocabulary.tokens.size(); ++i)
    definition.special[i] = true;
  std::unordered_map<std::string, std::int32_t> ids;
  ids.reserve(vocabulary.tokens.size());
  for (std::size_t i = 0; i < vocabulary.tokens.size(); ++i)
    ids.emplace(vocabulary.tokens[i], static_cast<std::int32_t>(i));
  const auto id_of = [&](const std::string& token) {
    const auto found = ids.find(token);
    if (found == ids.end())
      throw Error("bpe tokenizer: the trained vocabulary has a merge into \"" + token +
                  "\", which is not one of its tokens");
    return found->second;
  };
  definition.merges.reserve(vocabulary.merges.size());
  for (const auto& [left, right] : vocabulary.merges)
    definition.merges.push_back({id_of(left), id_of(right), id_of(left + right)});
  definition.tokens = std::move(vocabulary.tokens);
  try {
    set_model(std::make_unique<BpeModel>(std::move(definition)));
  } catch (const Error& e) {
    throw Error(std::string("bpe tokenizer: the trained vocabulary is inconsistent: ") + e.what());
  }
}

void BpeTokenizer::encode_span(std::string_view text, std::vector<std::int32_t>& ids,
                               std::vector<std::string_view>& pieces) const {
  if (text.empty()) return;
  // The built-in patterns are runs of one character class with at most a one-character
  // lookahead or a `$`, so a piece that ends well before the end of a window of the text is the
  // piece the whole text has there. Long texts are therefore split a window at a time, keeping
  // the pieces vector small; the pieces near a window's end are redone with the next window.
  // A user's pattern could look arbitrarily far ahead: it always sees the whole text.
  const std::string& name = pretokenizer_->name();
  const bool windowed = name == "gpt2" || name == "gpt4";
  std::size_t window = kSplitWindowBytes;
  std::size_t start = 0;
  while (start < text.size()) {
    const bool last = !windowed || text.size() - start <= window;
    const std::string_view rest = text.substr(start, last ? std::string_view::npos : window);
    pieces.clear();
    pretokenizer_->split(rest, pieces);
    if (last) {
      for (const std::string_view piece : pieces) model_->encode_piece(piece, ids);
      return;
    }
    std::size_t done = 0;  // bytes of `rest` encoded
    for (const std::string_view piece : pieces) {
      const auto end = static_cast<std::size_t>(piece.data() - rest.data()) + piece.size();
      if (end + kSplitMarginBytes > rest.size()) break;
      model_->encode_piece(piece, ids);
      done = end;
    }
    if (done == 0) {
      window *= 2;  // one piece spans the window (a long run of spaces or letters): widen it
      continue;
    }
    start += done;
    window = kSplitWindowBytes;
  }
}

std::vector<std::int32_t> BpeTokenizer::encode_ordinary(std::string_view text) const {
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  std::vector<std::string_view> pieces;
  encode_span(text, ids, pieces);
  return ids;
}

std::vector<std::int32_t> BpeTokenizer::encode(std::string_view text) const {
  if (specials_longest_first_.empty()) return encode_ordinary(text);
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  std::vector<std::string_view> pieces;
  std::size_t start = 0;  // first byte not encoded yet
  for (std::size_t pos = 0; pos < text.size();) {
    if (special_first_byte_[static_cast<unsigned char>(text[pos])]) {
      bool matched = false;
      for (const std::int32_t id : specials_longest_first_) {
        const std::string& special = model_->spelling(id);
        if (text.compare(pos, special.size(), special) == 0) {
          encode_span(text.substr(start, pos - start), ids, pieces);
          ids.push_back(id);
          pos += special.size();
          start = pos;
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    ++pos;
  }
  encode_span(text.substr(start), ids, pieces);
  return ids;
}

std::vector<std::vector<std::int32_t>> BpeTokenizer::encode_batch(
    const std::vector<std::string>& texts, int threads) const {
  std::vector<std::vector<std::int32_t>> out(texts.size());
  anvil::parallel_for(texts.size(), threads > 0 ? threads : options_.threads,
                      [&](std::size_t i) { out[i] = encode(texts[i]); });
  return out;
}

std::vector<std::vector<std::int32_t>> BpeTokenizer::encode_ordinary_batch(
    const std::vector<std::string>& texts, int threads) const {
  std::vector<std::vector<std::int32_t>> out(texts.size());
  anvil::parallel_for(texts.size(), threads > 0 ? threads : options_.threads,
                      [&](std::size_t i) { out[i] = encode_ordinary(texts[i]); });
  return out;
}

std::string BpeTokenizer::decode(const std::vector<std::int32_t>& ids) const {
  const std::int32_t size = model_->size();
  std::string out;
  out.reserve(ids.size() * 4);
  for (const std::int32_t id : ids) {
    if (id < 0 || id >= size)
      throw Error("bpe tokenizer: cannot decode token id " + std::to_string(id) +
                  ": the vocabulary has ids 0.." + std::to_string(size - 1));
    out += model_->bytes(id);
  }
  return out;
}

std::vector<std::string> BpeTokenizer::special_tokens() const {
  std::vector<std::string> specials;
  for (const std::int32_t id : model_->special_ids()) specials.push_back(model_->spelling(id));
  return specials;
}

std::optional<std::int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
  for (const std::int32_t id : model_->special_ids())
    if (model_->spelling(id) == token) return id;
  if (token.empty()) return std::nullopt;
  if (const auto id = model_->find_bytes(token)) return id;
  if (const auto id = model_->find_spelling(token); id && !model_->is_special(*id)) return id;
  return std::nullopt;
}

void BpeTokenizer::save(const std::filesystem::path& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw Error("bpe tokenizer: cannot create directory " + dir.string() + ": " + ec.message());
  write_text_file(dir / kTokenizerJson, tokenizer_json_text(*model_, *pretokenizer_));
  write_text_file(dir / kVocabJson, vocab_json_text(*model_));
  write_text_file(dir / kMergesTxt, merges_txt_text(*model_));
}

void BpeTokenizer::load(const std::filesystem::path& path) {
  BpeLoaded loaded = read_bpe_files(path);
  // Everything read and checked: commit.
  if (loaded.pretokenizer) pretokenizer_ = std::move(loaded.pretokenizer);
  set_model(std::move(loaded.model));
}

}  // namespace anvil::builtin
