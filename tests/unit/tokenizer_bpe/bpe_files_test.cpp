// Vocabulary files: each malformed file in tests/fixtures/tokenizer/broken/ gives its exact
// anvil::DataError (file and field or line named), and a failed load changes nothing.
#include "bpe_files.h"
#include "bpe_tokenizer.h"

#include <anvil/errors.h>

#include "support/temp_dir.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

using anvil::builtin::BpeTokenizer;
namespace fs = std::filesystem;

namespace {

const fs::path kBroken =
    fs::path(ANVIL_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer" / "broken";

// The message of the anvil::DataError `f` throws ("<no DataError>" if it throws none).
std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const anvil::DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<not a DataError> ") + e.what();
  }
  return "<no DataError>";
}

// The error of loading broken/<name> into a fresh tokenizer.
std::string load_error(const std::string& name) {
  return data_error([&] {
    BpeTokenizer tok;
    tok.load(kBroken / name);
  });
}

std::string file(const std::string& name, const std::string& leaf) {
  return (kBroken / name / leaf).string();
}

// Each test's folder is named after this file.
struct TempDir : anvil::test::TempDir {
  TempDir() : anvil::test::TempDir("anvil_bpe_files_test") {}
};

}  // namespace

TEST_CASE("malformed merges.txt lines are reported with file and line", "[bpe][files]") {
  CHECK(load_error("merges_bad_line") ==
        file("merges_bad_line", "merges.txt") + ":3: expected two tokens separated by a space");
  CHECK(load_error("merges_unknown_token") ==
        file("merges_unknown_token", "merges.txt") + ":3: \"zz\" is not in vocab.json");
  CHECK(load_error("merges_unknown_result") ==
        file("merges_unknown_result", "merges.txt") +
            ":2: \"bc\" (\"b\" + \"c\") is not in vocab.json");
  CHECK(load_error("merges_repeated") ==
        file("merges_repeated", "merges.txt") + ":3: repeats line 1");
  // GPT-2's file names are named the same way.
  CHECK(load_error("gpt2_unknown_token") ==
        file("gpt2_unknown_token", "vocab.bpe") + ":3: \"zz\" is not in encoder.json");
  CHECK(load_error("missing_merges") ==
        "cannot read " + file("missing_merges", "merges.txt") + ": no such file or not readable");
}

TEST_CASE("malformed vocab.json is reported with the file and the token", "[bpe][files]") {
  CHECK(load_error("vocab_duplicate_id") ==
        file("vocab_duplicate_id", "vocab.json") + ": \"ab\" and \"abc\" both have id 256");
  CHECK(load_error("vocab_gap") == file("vocab_gap", "vocab.json") +
                                       ": ids are not contiguous: no token has id 257 (the "
                                       "largest is 300)");
  CHECK(load_error("vocab_not_object") ==
        file("vocab_not_object", "vocab.json") +
            ": expected an object mapping tokens to ids, found an array");
  CHECK(load_error("vocab_bad_id") ==
        file("vocab_bad_id", "vocab.json") +
            ": \"ab\": expected a non-negative integer id, found \"x\"");
  CHECK(load_error("vocab_syntax") ==
        file("vocab_syntax", "vocab.json") +
            ": invalid JSON at byte offset 14 (line 2, column 6): syntax error while parsing object "
            "separator - unexpected number literal; expected ':'");
  CHECK(load_error("vocab_missing_byte") ==
        file("vocab_missing_byte", "vocab.json") +
            ": no token for byte 0x0A (byte-level symbol \"\u010a\")");
}

TEST_CASE("malformed tokenizer.json is reported with the file and the field", "[bpe][files]") {
  const auto tj = [](const std::string& name) { return file(name, "tokenizer.json"); };
  CHECK(load_error("json_syntax") ==
        tj("json_syntax") +
            ": invalid JSON at byte offset 25 (line 1, column 26): syntax error while parsing object key "
            "- unexpected '}'; expected string literal");
  CHECK(load_error("json_not_object") ==
        tj("json_not_object") + ": expected a JSON object at the top level, found an array");
  CHECK(load_error("json_model_type") ==
        tj("json_model_type") + ": model.type: expected \"BPE\", found \"WordPiece\"");
  CHECK(load_error("json_vocab_array") ==
        tj("json_vocab_array") +
            ": model.vocab: expected an object mapping tokens to ids, found an array");
  CHECK(load_error("json_merge_form") ==
        tj("json_merge_form") + ": model.merges[1]: expected \"left right\" or [\"left\", \"right\"]");
  CHECK(load_error("json_merge_unknown") ==
        tj("json_merge_unknown") + ": model.merges[1]: \"zz\" is not in model.vocab");
  CHECK(load_error("json_merge_added") ==
        tj("json_merge_added") +
            ": model.merges[1]: \"<|endoftext|>\" is an added (special) token");
  CHECK(load_error("json_added_conflict") ==
        tj("json_added_conflict") +
            ": added_tokens[0]: id 256 is \"ab\" in model.vocab, not \"<|endoftext|>\"");
  CHECK(load_error("json_gap") ==
        tj("json_gap") +
            ": ids are not contiguous: no token in model.vocab or added_tokens has id 257 (the "
            "largest is 259)");
  CHECK(load_error("json_pretokenizer") ==
        tj("json_pretokenizer") +
            ": pre_tokenizer: expected ByteLevel, or a Sequence of Split and ByteLevel, found "
            "\"Whitespace\"");
  CHECK(load_error("json_bad_regex") ==
        tj("json_bad_regex") +
            ": pre_tokenizer: pre-tokenizer pattern does not compile at offset 9: missing closing "
            "parenthesis");
  CHECK(load_error("json_prefix_space") ==
        tj("json_prefix_space") + ": pre_tokenizer.add_prefix_space: true is not supported");
  CHECK(load_error("json_normalizer") ==
        tj("json_normalizer") +
            ": normalizer: expected null (normalizers are not supported), found an object");
  CHECK(load_error("json_missing_byte") ==
        tj("json_missing_byte") +
            ": model.vocab: no token for byte 0x0A (byte-level symbol \"\u010a\")");
  CHECK(load_error("json_not_byte_level") ==
        tj("json_not_byte_level") +
            ": model.vocab: token \"\u20ac\" (id 259) is not spelled in the byte-level alphabet");
}

TEST_CASE("a folder without tokenizer files, or a missing path, is reported", "[bpe][files]") {
  TempDir dir;
  CHECK(data_error([&] { BpeTokenizer().load(dir.path); }) ==
        "no tokenizer files in " + dir.path.string() +
            ": expected tokenizer.json, vocab.json and merges.txt, or encoder.json and vocab.bpe");
  CHECK(data_error([&] { BpeTokenizer().load(dir.path / "nowhere"); }) ==
        "cannot read " + (dir.path / "nowhere").string() + ": no such file or directory");
}

TEST_CASE("a failed load leaves the tokenizer as it was", "[bpe][files]") {
  BpeTokenizer tok;
  const auto before = tok.encode("hello <|endoftext|>");
  CHECK_THROWS_AS(tok.load(kBroken / "json_missing_byte"), anvil::DataError);
  CHECK_THROWS_AS(tok.load(kBroken / "merges_repeated"), anvil::DataError);
  CHECK(tok.vocab_size() == 257);
  CHECK(tok.special_tokens() == std::vector<std::string>{"<|endoftext|>"});
  CHECK(tok.encode("hello <|endoftext|>") == before);
}
