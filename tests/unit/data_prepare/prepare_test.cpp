// prepare_dataset end to end in-process: exact counts per stage on the fixture corpus (planted
// exact and near duplicates, a too-short and a symbol-heavy paragraph, invalid UTF-8, a
// decomposed accent), shards that decode to exactly the cleaned, deduplicated input, byte-identical
// output for any worker count, and the errors.
#include "data/dataset.h"
#include "data/input_files.h"
#include "data/prepare.h"
#include "char_tokenizer.h"
#include "support/temp_dir.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

namespace fs = std::filesystem;
using namespace anvil::core;

namespace {

const fs::path kFixtures = fs::path(ANVIL_SOURCE_DIR) / "tests/fixtures/data";

PrepareOptions fixture_options(const fs::path& out) {
  PrepareOptions o;
  o.train_inputs = expand_inputs({kFixtures / "corpus"});
  o.valid_inputs = {kFixtures / "valid.txt"};
  o.clean.min_chars = 10;
  o.clean.max_symbol_ratio = 0.3;
  o.out = out;
  o.batch_bytes = 1000;  // several batches even on this small corpus
  o.shard_tokens = 1500;  // several shards too
  o.config_fingerprint = "test";
  return o;
}

struct Prepared {
  PrepareReport report;
  std::shared_ptr<anvil::builtin::CharTokenizer> tokenizer;
};

Prepared run_prepare(const PrepareOptions& options) {
  Prepared prepared;
  prepared.tokenizer = std::make_shared<anvil::builtin::CharTokenizer>();
  TokenizerHooks hooks;
  hooks.tokenizer = prepared.tokenizer.get();
  hooks.train = true;
  hooks.plugin = "char";
  hooks.save = [&](const fs::path& dir) { prepared.tokenizer->save(dir); };
  prepared.report = prepare_dataset(options, hooks);
  return prepared;
}

// The documents of a split, decoded, without their EOS.
std::vector<std::string> decoded_documents(const Dataset& dataset, const std::string& split,
                                           const anvil::Tokenizer& tokenizer) {
  const TokenStream& tokens = dataset.split(split);
  std::vector<std::string> documents;
  for (std::uint64_t d = 0; d < tokens.documents(); ++d) {
    const auto [first, last] = tokens.document(d);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(last - first));
    tokens.read(first, ids.size(), ids.data());
    REQUIRE(ids.back() == dataset.info().tokenizer.eos_id);
    documents.push_back(tokenizer.decode(std::vector<std::int32_t>(ids.begin(), ids.end() - 1)));
  }
  return documents;
}

// What the pipeline must keep, computed independently: every document cleaned, minus the
// rejected ones, minus later exact copies, minus the planted near duplicate (it has "zebra").
std::vector<std::string> expected_documents(const std::vector<fs::path>& files) {
  DocumentReader reader(files, ReaderOptions{});
  Cleaner cleaner(fixture_options({}).clean);
  std::vector<std::string> kept;
  for (std::string text; reader.next(text);) {
    if (cleaner.clean(text).rejection != Rejection::kept) continue;
    if (text.find("zebra") != std::string::npos) continue;
    if (std::find(kept.begin(), kept.end(), text) == kept.end()) kept.push_back(text);
  }
  return kept;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("prepare counts every stage exactly on the planted corpus", "[data][prepare]") {
  anvil::test::TempDir dir("prepare_counts");
  const PrepareReport report = run_prepare(fixture_options(dir.path / "ds")).report;
  CHECK(report.read.documents_out == 16);   // 4 JSONL + 10 paragraphs + 2 validation
  CHECK(report.clean.documents_out == 14);
  CHECK(report.clean_counts.by_reason[static_cast<std::size_t>(Rejection::too_short)] == 1);
  CHECK(report.clean_counts.by_reason[static_cast<std::size_t>(Rejection::too_many_symbols)] == 1);
  CHECK(report.clean_counts.repaired_utf8 == 1);
  CHECK(report.exact_duplicates == 2);
  CHECK(report.near_duplicates == 1);
  CHECK(report.dedup.documents_out == 11);
  CHECK(report.train_documents == 9);
  CHECK(report.valid_documents == 2);
  CHECK(report.info.splits.at("train").documents == 9);
  CHECK(report.info.splits.at("train").shards.size() > 1);
  CHECK(report.info.splits.at("valid").documents == 2);
  CHECK(report.train_tokens == report.info.splits.at("train").tokens);
  CHECK_FALSE(fs::exists(dir.path / "ds.partial"));
  CHECK_FALSE(fs::is_empty(dir.path / "ds" / "tokenizer"));
}

TEST_CASE("prepared shards decode to the cleaned, deduplicated input", "[data][prepare]") {
  anvil::test::TempDir dir("prepare_roundtrip");
  const Prepared prepared = run_prepare(fixture_options(dir.path / "ds"));
  const Dataset dataset = Dataset::open(dir.path / "ds");
  const std::vector<std::string> train = decoded_documents(dataset, "train", *prepared.tokenizer);
  CHECK(train == expected_documents(expand_inputs({kFixtures / "corpus"})));
  std::uint64_t train_bytes = 0;
  for (const std::string& document : train) train_bytes += document.size();
  CHECK(dataset.info().splits.at("train").text_bytes == train_bytes);
  CHECK(decoded_documents(dataset, "valid", *prepared.tokenizer) ==
        expected_documents({kFixtures / "valid.txt"}));
  // Cleaning really happened: the accent is composed (NFC) and the bad byte replaced.
  const auto has = [&](const std::string& needle) {
    return std::any_of(train.begin(), train.end(),
                       [&](const std::string& d) { return d.find(needle) != std::string::npos; });
  };
  CHECK(has("Caf\xc3\xa9 society"));
  CHECK(has("Broken bytes \xef\xbf\xbd here"));
}

TEST_CASE("prepare output does not depend on the number of workers", "[data][prepare]") {
  anvil::test::TempDir dir("prepare_workers");
  PrepareOptions one = fixture_options(dir.path / "one");
  one.workers = 1;
  PrepareOptions four = fixture_options(dir.path / "four");
  four.workers = 4;
  run_prepare(one);
  run_prepare(four);
  for (const auto& entry : fs::directory_iterator(dir.path / "one")) {
    if (!entry.is_regular_file() || entry.path().filename() == "dataset.json") continue;
    INFO(entry.path().filename().string());
    CHECK(read_file(entry.path()) == read_file(dir.path / "four" / entry.path().filename()));
  }
}

TEST_CASE("valid_fraction holds out documents by content", "[data][prepare]") {
  anvil::test::TempDir dir("prepare_fraction");
  PrepareOptions options = fixture_options(dir.path / "ds");
  options.valid_inputs.clear();
  options.valid_fraction = 0.5;
  const PrepareReport report = run_prepare(options).report;
  CHECK(report.train_documents + report.valid_documents == 9);
  CHECK(report.valid_documents > 0);
  CHECK(report.train_documents > 0);
  // The same documents go to validation on a second run.
  PrepareOptions again = fixture_options(dir.path / "again");
  again.valid_inputs.clear();
  again.valid_fraction = 0.5;
  CHECK(run_prepare(again).report.valid_documents == report.valid_documents);
  CHECK(read_file(dir.path / "ds" / "valid-00000.tokens") ==
        read_file(dir.path / "again" / "valid-00000.tokens"));
}

TEST_CASE("prepare refuses an empty corpus and leaves nothing behind", "[data][prepare]") {
  anvil::test::TempDir dir("prepare_empty");
  PrepareOptions options = fixture_options(dir.path / "ds");
  options.clean.min_chars = 100000;
  try {
    run_prepare(options);
    FAIL("expected a DataError");
  } catch (const anvil::DataError& e) {
    const std::string message = e.what();
    CHECK(message.find("empty after cleaning") != std::string::npos);
    CHECK(message.find("16 documents read") != std::string::npos);
    CHECK(message.find("16 too short") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir.path / "ds"));
  CHECK_FALSE(fs::exists(dir.path / "ds.partial"));
}

TEST_CASE("prepare keeps an existing dataset when it fails", "[data][prepare]") {
  anvil::test::TempDir dir("prepare_keep");
  run_prepare(fixture_options(dir.path / "ds"));
  const std::string before = read_file(dir.path / "ds" / "dataset.json");
  PrepareOptions broken = fixture_options(dir.path / "ds");
  broken.eos_token = "<|no such token|>";
  CHECK_THROWS_AS(run_prepare(broken), anvil::DataError);
  CHECK(read_file(dir.path / "ds" / "dataset.json") == before);
}

TEST_CASE("an empty valid split is an error unless none is wanted", "[data][prepare]") {
  anvil::test::TempDir dir("prepare_novalid");
  PrepareOptions options = fixture_options(dir.path / "ds");
  options.valid_inputs.clear();
  options.valid_fraction = 1e-9;
  CHECK_THROWS_WITH(run_prepare(options), Catch::Contains("the valid split is empty"));
  options.valid_fraction = 0;
  const PrepareReport report = run_prepare(options).report;
  CHECK(report.valid_documents == 0);
  CHECK(report.info.splits.count("valid") == 0);
}

namespace {

// A tokenizer built as against SDK 0.4: encode() matches special tokens, and there is no
// OrdinaryEncoder to ask for anything else.
class LegacyTokenizer final : public anvil::Tokenizer {
 public:
  void train(anvil::TextSource&) override {}
  std::vector<std::int32_t> encode(std::string_view text) const override { return inner_.encode(text); }
  std::string decode(const std::vector<std::int32_t>& ids) const override { return inner_.decode(ids); }
  std::int64_t vocab_size() const override { return inner_.vocab_size(); }
  std::vector<std::string> special_tokens() const override { return inner_.special_tokens(); }
  std::optional<std::int32_t> token_to_id(std::string_view token) const override {
    return inner_.token_to_id(token);
  }
  void save(const fs::path& dir) const override { inner_.save(dir); }
  void load(const fs::path& dir) override { inner_.load(dir); }

 private:
  anvil::builtin::CharTokenizer inner_;
};

}  // namespace

TEST_CASE("special-token text in a document stays text, with one end-of-document id", "[data][prepare]") {
  anvil::test::TempDir dir("anvil_prepare_specials");
  const std::string quoting = "Documents end with <|endoftext|> in GPT-2's corpus.";
  {
    std::ofstream(dir.path / "corpus.txt") << quoting << "\n\nAnother document, long enough.\n";
  }
  PrepareOptions o;
  o.train_inputs = {dir.path / "corpus.txt"};
  o.valid_fraction = 0;
  o.out = dir.path / "ds";

  const Prepared prepared = run_prepare(o);
  const Dataset dataset = Dataset::open(o.out);
  const std::int32_t eos = dataset.info().tokenizer.eos_id;
  const TokenStream& tokens = dataset.split("train");
  REQUIRE(tokens.documents() == 2);
  for (std::uint64_t d = 0; d < tokens.documents(); ++d) {
    const auto [first, last] = tokens.document(d);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(last - first));
    tokens.read(first, ids.size(), ids.data());
    CHECK(std::count(ids.begin(), ids.end(), eos) == 1);
    CHECK(ids.back() == eos);
  }
  CHECK(decoded_documents(dataset, "train", *prepared.tokenizer)[0] == quoting);

  // Without OrdinaryEncoder the document cannot be kept as text: refused, naming it.
  LegacyTokenizer legacy;
  TokenizerHooks hooks;
  hooks.tokenizer = &legacy;
  hooks.plugin = "legacy";
  o.out = dir.path / "legacy";
  CHECK_THROWS_WITH(prepare_dataset(o, hooks),
                    Catch::StartsWith("tokenizer 'legacy' encodes the text \"<|endoftext|>\" in the "
                                      "document \"Documents end with <|endoftext|> in GPT-2's corpus.\" "
                                      "as its special token 0"));
  CHECK_FALSE(fs::exists(dir.path / "legacy"));
}
