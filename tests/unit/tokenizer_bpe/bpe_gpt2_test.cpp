// GPT-2 exactness: the bpe tokenizer over GPT-2's encoder.json + vocab.bpe gives the ids of
// tiktoken's "gpt2" encoding (r50k_base), line by line on gpt2_reference.jsonl, and on cases
// checked by hand against OpenAI's encoder.py.
#include "bpe_tokenizer.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using anvil::builtin::BpeTokenizer;
using anvil::builtin::BpeTokenizerOptions;
using Ids = std::vector<std::int32_t>;

namespace {

const std::filesystem::path kFixtures =
    std::filesystem::path(ANVIL_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer";

// GPT-2's tokenizer, loaded once per allowed_special setting.
const BpeTokenizer& gpt2(bool allow_special = true) {
  const auto make = [](bool allow) {
    BpeTokenizerOptions options;
    options.files = (kFixtures / "gpt2").string();
    if (!allow) options.allowed_special = {};
    return std::make_unique<BpeTokenizer>(options);
  };
  static const std::unique_ptr<BpeTokenizer> all = make(true);
  static const std::unique_ptr<BpeTokenizer> none = make(false);
  return allow_special ? *all : *none;
}

}  // namespace

TEST_CASE("gpt2 files load with 50257 ids and <|endoftext|> as the one special token",
          "[bpe][gpt2]") {
  const BpeTokenizer& tok = gpt2();
  CHECK(tok.vocab_size() == 50257);
  CHECK(tok.special_tokens() == std::vector<std::string>{"<|endoftext|>"});
  CHECK(tok.token_to_id("<|endoftext|>") == 50256);
  CHECK(tok.model().merges().size() == 50000);
  CHECK(tok.pretokenizer().name() == "gpt2");
  // Ordinary tokens by their text, or by their byte-level spelling as in encoder.json.
  CHECK(tok.token_to_id(" the") == 262);
  CHECK(tok.token_to_id("\u0120the") == 262);
  CHECK(tok.token_to_id("!") == 0);
  CHECK(tok.token_to_id("\n") == 198);
  CHECK(tok.token_to_id("\u010a") == 198);
  CHECK_FALSE(tok.token_to_id(" the quick").has_value());
  CHECK_FALSE(tok.token_to_id("").has_value());
}

TEST_CASE("gpt2 hand-checked encodings", "[bpe][gpt2]") {
  const BpeTokenizer& tok = gpt2();
  CHECK(tok.encode("Hello world") == Ids{15496, 995});
  CHECK(tok.encode("") == Ids{});
  // Whitespace runs: a run before a word keeps its last space for the word.
  CHECK(tok.encode("  ") == Ids{220, 220});
  CHECK(tok.encode("a  b") == Ids{64, 220, 275});
  CHECK(tok.encode("Hello\n\nworld   ") == Ids{15496, 198, 198, 6894, 220, 220, 220});
  CHECK(tok.encode("\t\tx") == Ids{197, 197, 87});
  CHECK(tok.encode("I'll don't 12345") == Ids{40, 1183, 836, 470, 17031, 2231});
  CHECK(tok.encode("h\u00e9llo \u4e16\u754c \U0001F642!") ==
        Ids{71, 2634, 18798, 220, 10310, 244, 45911, 234, 32485, 0});
  // Special tokens: matched with allowed_special "all", ordinary text with "none".
  CHECK(tok.encode(" <|endoftext|>") == Ids{220, 50256});
  CHECK(tok.encode("<|endoftext|>Hello<|endoftext|>") == Ids{50256, 15496, 50256});
  CHECK(gpt2(false).encode(" <|endoftext|>") == Ids{1279, 91, 437, 1659, 5239, 91, 29});
  CHECK(tok.encode_ordinary(" <|endoftext|>") == Ids{1279, 91, 437, 1659, 5239, 91, 29});
  CHECK(tok.decode({220, 50256, 15496}) == " <|endoftext|>Hello");
}

TEST_CASE("gpt2 matches tiktoken on every line of gpt2_reference.jsonl", "[bpe][gpt2]") {
  const std::filesystem::path path = kFixtures / "gpt2_reference.jsonl";
  REQUIRE(std::filesystem::exists(path));
  // The reference was made with tiktoken's encode(text, allowed_special=[]): plain text.
  const BpeTokenizer& tok = gpt2(false);
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::size_t line_number = 0, checked = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    const nlohmann::json entry = nlohmann::json::parse(line);
    const std::string text = entry.at("text").get<std::string>();
    const Ids expected = entry.at("ids").get<Ids>();
    const Ids ids = tok.encode(text);
    if (ids != expected) {
      INFO("gpt2_reference.jsonl:" << line_number << ": " << nlohmann::json(text).dump());
      CHECK(ids == expected);
    }
    if (tok.decode(ids) != text) {
      INFO("gpt2_reference.jsonl:" << line_number << ": decode");
      CHECK(tok.decode(ids) == text);
    }
    ++checked;
  }
  CHECK(checked > 3000);
}

TEST_CASE("gpt2 long runs are merged the same by the scan and the heap", "[bpe][gpt2]") {
  using anvil::builtin::BpeMergeMethod;
  const auto& model = gpt2().model();
  const std::vector<std::string> pieces = {
      std::string(300, ' '), std::string(1000, 'a'), "1234567890123456789012345678901234567890"
      "1234567890123456789012345678901234567890", " supercalifragilisticexpialidociouslyyyyyyyy"
      "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"};
  for (const std::string& piece : pieces) {
    Ids scan, heap;
    model.merge_piece(piece, scan, BpeMergeMethod::scan);
    model.merge_piece(piece, heap, BpeMergeMethod::heap);
    CHECK(scan == heap);
    Ids cached;
    model.encode_piece(piece, cached);
    CHECK(cached == scan);
  }
}
