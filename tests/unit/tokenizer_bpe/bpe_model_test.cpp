// The BPE model on its own: merge order (lowest rank, leftmost first), the scan and the heap
// agreeing, GPT-2's tokens merging back to themselves, the checks of a definition, and the word
// cache under threads and eviction.
#include "bpe_files.h"
#include "bpe_model.h"
#include "byte_level.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

using anvil::builtin::BpeDefinition;
using anvil::builtin::BpeMergeMethod;
using anvil::builtin::BpeModel;
using anvil::builtin::byte_to_symbol;
using Ids = std::vector<std::int32_t>;

namespace {

const BpeModel& gpt2_model() {
  static const anvil::builtin::BpeLoaded loaded = anvil::builtin::read_bpe_files(
      std::filesystem::path(ANVIL_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer" / "gpt2");
  return *loaded.model;
}

// Bytes 0..255 as ids 0..255, then `extra` tokens (byte-level spellings), then merges given as
// spellings; merged ids are looked up by spelling.
BpeDefinition definition(const std::vector<std::string>& extra,
                         const std::vector<std::pair<std::string, std::string>>& merges) {
  BpeDefinition d;
  for (int b = 0; b < 256; ++b) d.tokens.push_back(byte_to_symbol(static_cast<std::uint8_t>(b)));
  d.tokens.insert(d.tokens.end(), extra.begin(), extra.end());
  d.special.assign(d.tokens.size(), false);
  const auto id = [&](const std::string& t) {
    for (std::size_t i = 0; i < d.tokens.size(); ++i)
      if (d.tokens[i] == t) return static_cast<std::int32_t>(i);
    return static_cast<std::int32_t>(-1);
  };
  for (const auto& [l, r] : merges) d.merges.push_back({id(l), id(r), id(l + r)});
  return d;
}

Ids merge(const BpeModel& model, const std::string& piece, BpeMergeMethod method) {
  Ids ids;
  model.merge_piece(piece, ids, method);
  return ids;
}

std::string model_error(BpeDefinition d) {
  try {
    BpeModel model(std::move(d));
  } catch (const anvil::Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("bpe model merges the lowest rank first, the leftmost on a tie", "[bpe][model]") {
  // Ranks: "a a" 0, "b c" 1, "a b" 2, "aa a" 3.
  const BpeModel model(definition({"aa", "bc", "ab", "aaa"}, {{"a", "a"}, {"b", "c"}, {"a", "b"}, {"aa", "a"}}));
  for (const auto method : {BpeMergeMethod::scan, BpeMergeMethod::heap}) {
    CHECK(merge(model, "aaa", method) == Ids{259});            // the leftmost "a a", then "aa a"
    CHECK(merge(model, "aaaa", method) == Ids{256, 256});      // two "a a" merges, left to right
    CHECK(merge(model, "abc", method) == Ids{'a', 257});       // "b c" (1) beats "a b" (2)
    CHECK(merge(model, "abx", method) == Ids{258, 'x'});
    CHECK(merge(model, "", method).empty());
    CHECK(merge(model, "\xFF", method) == Ids{0xFF});
  }
}

TEST_CASE("bpe model scan and heap agree on random pieces", "[bpe][model]") {
  const BpeModel& model = gpt2_model();
  std::mt19937 rng(99);
  const std::string alphabet = "aeinrst ths\xC3\xA9\xE2\x80\x99\n0123";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1), len(0, 200);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 2000; ++i) {
    std::string piece;
    for (std::size_t n = len(rng); n > 0; --n)
      piece.push_back(i % 4 == 0 ? static_cast<char>(byte(rng)) : alphabet[pick(rng)]);
    const Ids scan = merge(model, piece, BpeMergeMethod::scan);
    REQUIRE(merge(model, piece, BpeMergeMethod::heap) == scan);
    std::string back;
    for (const std::int32_t id : scan) back += model.bytes(id);
    REQUIRE(back == piece);
  }
}

TEST_CASE("bpe model: every GPT-2 token merges back to itself", "[bpe][model][gpt2]") {
  const BpeModel& model = gpt2_model();
  for (std::int32_t id = 0; id < model.size(); ++id) {
    if (model.is_special(id)) continue;
    REQUIRE(merge(model, model.bytes(id), BpeMergeMethod::automatic) == Ids{id});
  }
  CHECK(model.special_ids() == Ids{50256});
  CHECK(model.bytes(50256) == "<|endoftext|>");
  CHECK(model.byte_id(' ') == 220);
  CHECK(model.byte_id('!') == 0);
}

TEST_CASE("bpe model rejects inconsistent definitions", "[bpe][model]") {
  BpeDefinition d = definition({"ab"}, {{"a", "b"}});
  d.tokens[10] = "<pad>";
  d.special[10] = true;
  CHECK(model_error(d) == "no token for byte 0x0A (byte-level symbol \"\u010a\")");

  d = definition({"ab", "\u20ac"}, {});
  CHECK(model_error(d) == "token \"\u20ac\" (id 257) is not spelled in the byte-level alphabet");

  d = definition({"ab", "ab"}, {});
  CHECK(model_error(d) == "\"ab\" is the spelling of both id 256 and id 257");

  d = definition({"ab", "cd"}, {{"a", "b"}});
  d.merges.push_back({'c', 'd', 256});
  CHECK(model_error(d) == "merge 1: \"c\" + \"d\" does not make \"ab\"");

  d = definition({"ab"}, {{"a", "b"}, {"a", "b"}});
  CHECK(model_error(d) == "merge 1 repeats merge 0 (\"a\" \"b\")");

  d = definition({"ab"}, {{"a", "b"}});
  d.merges[0].merged = 999;
  CHECK(model_error(d) == "merge 0 refers to id 999, outside the vocabulary of 257 tokens");

  d = definition({"<s>"}, {});
  d.special[256] = true;
  d.merges.push_back({256, 'a', 'a'});
  CHECK(model_error(d) == "merge 0 involves special token \"<s>\" (id 256)");
}

TEST_CASE("bpe model word cache: same ids from many threads and after eviction", "[bpe][model]") {
  const BpeModel& model = gpt2_model();
  // More distinct pieces than the cache holds, so shards are emptied and refilled.
  std::vector<std::string> pieces;
  for (std::int64_t i = 0; i < 300000; ++i) pieces.push_back(" w" + std::to_string(i * 7919 % 1000003));
  std::vector<Ids> expected(pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i)
    model.merge_piece(pieces[i], expected[i], BpeMergeMethod::scan);
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      // Threads t and t + 2 encode the same pieces, racing to cache them.
      for (std::size_t i = static_cast<std::size_t>(t % 2); i < pieces.size(); i += 2) {
        Ids ids;
        model.encode_piece(pieces[i], ids);
        if (ids != expected[i]) ++wrong[static_cast<std::size_t>(t)];
      }
    });
  for (std::thread& thread : threads) thread.join();
  CHECK(wrong == std::vector<int>(4, 0));
}
