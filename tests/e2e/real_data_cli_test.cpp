// End-to-end: a user's own corpus as it comes (issue 15). Nested JSON lines, plain, gzip and
// zstd, with special-token text in documents, invalid UTF-8 and lone surrogates in JSON
// strings, empty and non-string texts and a truncated line; a BPE with [PAD] [UNK] [CLS] [EOS];
// the checks `anvil check` makes before compute; the bookkeeping of stopped, resumed and
// extended runs; the export's special tokens.
#include "run_process.h"
#include "support/compressed_files.h"
#include "support/temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using anvil::test::has_row;
using anvil::test::run_anvil;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// Quotes every special token of the tokenizer below, as documentation of BERT would.
const std::string kQuotingDocument =
    "A BERT input looks like [CLS] tokens [EOS] more tokens, padded with [PAD] and [UNK] for "
    "unknown words.";

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

// Paragraphs of the bundled Shakespeare: `count` ordinary documents, from paragraph `first`.
std::vector<std::string> paragraphs(std::size_t first, std::size_t count) {
  const std::string text = read_file(fs::path(ANVIL_SOURCE_DIR) / "data" / "tinyshakespeare.txt");
  std::vector<std::string> out;
  std::size_t start = 0, index = 0;
  while (out.size() < count && start < text.size()) {
    std::size_t end = text.find("\n\n", start);
    if (end == std::string::npos) end = text.size();
    if (index++ >= first) out.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

std::string jsonl_line(const std::string& text) {
  return json{{"id", 1}, {"meta", {{"text", text}}}}.dump() + "\n";
}

// The corpus in `dir`: docs.jsonl (with every defect: 5 bad lines and an empty text),
// more.jsonl.gz and more.jsonl.zst.
void write_corpus(const fs::path& dir) {
  std::string docs;
  for (const std::string& p : paragraphs(0, 60)) docs += jsonl_line(p);
  docs += jsonl_line(kQuotingDocument);
  docs += "{\"meta\": {\"text\": \"caf\xff raw bytes in a JSON string\"}}\n";   // invalid UTF-8
  docs += "{\"meta\": {\"text\": \"a lone \\ud800 surrogate escape\"}}\n";      // lone surrogate
  docs += "{\"meta\": {\"text\": \"\"}}\n";                                     // empty
  docs += "{\"meta\": {\"text\": 42}}\n";                                       // not a string
  docs += "{\"meta\": {\"text\": null}}\n";                                     // not a string
  docs += "{\"meta\": {\"body\": \"no text\"}}\n";                              // no field
  docs += "[\"not\", \"an object\"]\n";                                         // not an object
  docs += "{\"meta\": {\"text\": \"cut off in the mid";                        // truncated
  write_file(dir / "docs.jsonl", docs);
  std::string gz, zst;
  for (const std::string& p : paragraphs(60, 60)) gz += jsonl_line(p);
  for (const std::string& p : paragraphs(120, 60)) zst += jsonl_line(p);
  anvil::test::write_gzip(dir / "more.jsonl.gz", gz);
  anvil::test::write_zstd(dir / "more.jsonl.zst", zst);
}

void write_manifest(const fs::path& dir) {
  write_file(dir / "run.toml", R"([run]
name = "real"
out_dir = "runs"
seed = 3
device = "cpu"
threads = 2
log_every = 5

[data]
train = ["docs.jsonl", "more.jsonl.*"]
text_field = "meta.text"
on_bad_record = "skip"
valid_fraction = 0.1
dataset = "ds"

[tokenizer]
plugin = "bpe"
vocab_size = 300
special_tokens = ["[PAD]", "[UNK]", "[CLS]", "[EOS]"]
eos_token = "[EOS]"
pad_token = "[PAD]"
unk_token = "[UNK]"

[model]
plugin = "dense"
d_model = 32
n_layers = 1
n_heads = 2
ffn_hidden = 64
max_seq_len = 32

[optimizer]
plugin = "adamw"
lr = 3e-3

[[loss]]
plugin = "cross-entropy"

[[eval]]
plugin = "perplexity"
max_batches = 2

[training]
steps = 12
seq_len = 32
micro_batch_size = 4
warmup_steps = 2
schedule = "cosine"
precision = "fp32"
eval_every = 0

[sample]
prompt = ""
)");
}

// One split's documents, as token ids read from its shards (uint16 ids, uint64 offsets).
std::vector<std::vector<std::int32_t>> read_documents(const fs::path& dataset, const std::string& split) {
  std::vector<std::vector<std::int32_t>> documents;
  for (int shard = 0;; ++shard) {
    char stem[32];
    std::snprintf(stem, sizeof stem, "%s-%05d", split.c_str(), shard);
    const fs::path tokens_file = dataset / (std::string(stem) + ".tokens");
    if (!fs::exists(tokens_file)) break;
    const std::string tokens = read_file(tokens_file);
    const std::string index = read_file(dataset / (std::string(stem) + ".index"));
    std::vector<std::uint64_t> offsets(index.size() / 8);
    std::memcpy(offsets.data(), index.data(), index.size());
    for (std::size_t d = 0; d + 1 < offsets.size(); ++d) {
      std::vector<std::int32_t> ids;
      for (std::uint64_t t = offsets[d]; t < offsets[d + 1]; ++t) {
        std::uint16_t id;
        std::memcpy(&id, tokens.data() + t * 2, 2);
        ids.push_back(id);
      }
      documents.push_back(std::move(ids));
    }
  }
  return documents;
}

std::vector<std::int32_t> parse_ids(const std::string& line) {
  std::vector<std::int32_t> ids;
  std::istringstream in(line);
  for (std::int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

std::size_t count_events(const fs::path& metrics, const std::string& event) {
  std::ifstream in(metrics);
  std::size_t count = 0;
  for (std::string line; std::getline(in, line);)
    if (json::parse(line).value("event", "") == event) ++count;
  return count;
}

// A folder holding the corpus and run.toml, removed at the end.
struct CorpusFolder {
  anvil::test::TempDir dir;
  explicit CorpusFolder(const char* name) : dir(name) {
    write_corpus(dir.path);
    write_manifest(dir.path);
  }
};

// Runs anvil in `dir` (relative paths of the manifest and --set resolve there).
anvil::test::ProcessResult anvil_in(const fs::path& dir, const std::string& arguments) {
  return anvil::test::run_process("cd '" + dir.string() + "' && '" + ANVIL_EXECUTABLE + "' " + arguments);
}

}  // namespace

TEST_CASE("a real corpus with defects: error or skip, repair or drop, tokens that must exist",
          "[e2e][data]") {
  const CorpusFolder corpus("e2e_real_defects");
  const anvil::test::TempDir& dir = corpus.dir;

  SECTION("on_bad_record = error stops at the first bad line and counts the others") {
    const auto r = anvil_in(dir.path, "data prepare run.toml --set 'data.on_bad_record=\"error\"'");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("docs.jsonl:65': field 'meta.text' is number, not a string "
                               "(and 4 more bad lines in this file)"));
    CHECK_THAT(r.err, Contains("on_bad_record = \"skip\""));
    CHECK_FALSE(fs::exists(dir.path / "ds"));
  }
  SECTION("invalid UTF-8 in JSON strings follows invalid_utf8 = drop like plain text") {
    const auto r = anvil_in(dir.path, "data prepare run.toml --set 'data.clean.invalid_utf8=\"drop\"'");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("removed: 2 invalid UTF-8"));
    CHECK_THAT(r.out, Contains("repaired: 0 documents with invalid UTF-8"));
  }
  SECTION("a pad token the tokenizer does not have is refused, and no dataset is left") {
    const auto r = anvil_in(dir.path, "data prepare run.toml --set 'tokenizer.pad_token=\"<pad>\"'");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("[tokenizer] pad_token \"<pad>\" is not a token of the tokenizer"));
    CHECK_FALSE(fs::exists(dir.path / "ds"));
  }
}

TEST_CASE("a real corpus: skipped lines, repaired text, special-token text, bookkeeping", "[e2e][data]") {
  const CorpusFolder corpus("e2e_real_data");
  const anvil::test::TempDir& dir = corpus.dir;

  // The default: skip, repair.
  const auto prepared = anvil_in(dir.path, "data prepare run.toml");
  INFO(prepared.out << prepared.err);
  REQUIRE(prepared.exit_code == 0);
  const fs::path ds = dir.path / "ds";

  SECTION("skipped lines are counted by kind and the first ones listed with file:line") {
    // 180 paragraphs, the quoting document and the two repaired ones; 6 lines yield nothing.
    CHECK(has_row(prepared.out, {"read", "189", "183"}));
    CHECK_THAT(prepared.out, Contains("skipped JSON lines: 1 invalid JSON, 1 not a JSON object, "
                                      "1 missing text field, 2 non-string text field, 1 empty text"));
    CHECK_THAT(prepared.out, Contains("docs.jsonl:65': field 'meta.text' is number, not a string"));
    CHECK_THAT(prepared.out, Contains("docs.jsonl:69': invalid JSON: "));
    CHECK_THAT(prepared.out, Contains("repaired: 2 documents with invalid UTF-8"));
    const json details = json::parse(read_file(ds / "dataset.json"))["details"];
    const json skipped = details["skipped_records"];
    CHECK(skipped["invalid JSON"] == 1);
    CHECK(skipped["not a JSON object"] == 1);
    CHECK(skipped["missing text field"] == 1);
    CHECK(skipped["non-string text field"] == 2);
    CHECK(skipped["empty texts"] == 1);
    CHECK(skipped["examples"].size() == 5);
    CHECK(details["repaired_utf8"] == 2);
    CHECK(json::parse(read_file(ds / "dataset.json"))["version"] == 2);
  }

  SECTION("special-token text stays text: one end-of-document id per document, no other special") {
    const fs::path tokenizer = ds / "tokenizer";
    // Special-token text becomes the special token only where asked for.
    const auto special = run_anvil("tokenizer encode --tokenizer " + tokenizer.string() +
                                   " --file " + anvil::test::write_temp_file("cls.txt", "[CLS]"));
    REQUIRE(special.exit_code == 0);
    CHECK(parse_ids(special.out) == std::vector<std::int32_t>{2});
    const fs::path quoting = anvil::test::write_temp_file("quoting.txt", kQuotingDocument);
    const auto ordinary = run_anvil("tokenizer encode --ordinary --tokenizer " + tokenizer.string() +
                                    " --file " + quoting.string());
    REQUIRE(ordinary.exit_code == 0);
    const std::vector<std::int32_t> expected = parse_ids(ordinary.out);
    REQUIRE(expected.size() > 10);
    // --help says which encoding is used, whatever the terminal's width.
    std::istringstream help_words(run_anvil("tokenizer encode --help").out);
    std::string help, word;
    while (help_words >> word) help += word + " ";
    CHECK_THAT(help, Contains("--ordinary encode special-token text as ordinary text, as `anvil data "
                              "prepare` does with documents. Without it, special-token text becomes "
                              "the special token where the tokenizer allows it"));

    std::size_t documents = 0, found = 0;
    for (const std::string split : {"train", "valid"})
      for (const std::vector<std::int32_t>& ids : read_documents(ds, split)) {
        ++documents;
        REQUIRE_FALSE(ids.empty());
        CHECK(ids.back() == 3);  // [EOS]
        for (std::size_t i = 0; i + 1 < ids.size(); ++i) CHECK(ids[i] > 3);
        if (std::vector<std::int32_t>(ids.begin(), ids.end() - 1) == expected) ++found;
      }
    CHECK(documents > 150);  // less what cleaning and deduplication removed
    CHECK(found == 1);
    // ... and decodes to the same text.
    std::string line;
    for (const std::int32_t id : expected) line += std::to_string(id) + " ";
    const auto decoded = run_anvil("tokenizer decode --tokenizer " + tokenizer.string() + " --file " +
                                   anvil::test::write_temp_file("ids.txt", line + "\n"));
    CHECK(decoded.out == kQuotingDocument);
  }

  SECTION("a dataset of format version 1 is refused and prepared again") {
    json info = json::parse(read_file(ds / "dataset.json"));
    info["version"] = 1;
    write_file(ds / "dataset.json", info.dump(2));
    const auto inspect = run_anvil("data inspect " + ds.string());
    CHECK(inspect.exit_code == 1);
    CHECK_THAT(inspect.err, Contains("has dataset format version 1, made by an Anvil before 0.5"));
    const auto again = anvil_in(dir.path, "data prepare run.toml");
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.err, Contains("cannot be used and will be prepared again"));
    CHECK(json::parse(read_file(ds / "dataset.json"))["version"] == 2);
  }

  SECTION("the tokenizer folder records its end-of-document token: prepare needs no manifest") {
    const auto r = anvil_in(dir.path, "data prepare --input more.jsonl.gz --set 'data.text_field=\"meta.text\"' "
                                      "--set data.valid_fraction=0.2 "
                                      "--tokenizer ds/tokenizer --out ds2");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("end of document \"[EOS]\" = 3"));
  }

  SECTION("a stopped, resumed, re-run and extended run says what its figures are") {
    const fs::path metrics = dir.path / "runs" / "real" / "metrics.jsonl";
    const auto stopped = anvil_in(dir.path, "train run.toml --stop-at-step 7");
    INFO(stopped.out << stopped.err);
    REQUIRE(stopped.exit_code == 0);
    CHECK_THAT(stopped.out, Contains("(mean of steps 1-5)"));
    CHECK_THAT(stopped.out, Contains("(step 7)"));  // the last step's own loss

    const auto resumed = anvil_in(dir.path, "train run.toml --resume");
    INFO(resumed.out << resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK_THAT(resumed.out, Contains("1,536 in all, 640 in this session"));
    CHECK_THAT(resumed.out, Contains("this session,"));
    CHECK_THAT(resumed.out, Contains("validation tokens"));  // the final eval scored a subset
    CHECK(count_events(metrics, "resume") == 1);

    const auto finished = anvil_in(dir.path, "train run.toml");
    REQUIRE(finished.exit_code == 0);
    CHECK_THAT(finished.out, Contains("the run is already trained to step 12 (training.steps = 12)"));
    CHECK_THAT(finished.out, !Contains("training real"));  // nothing measured or built
    CHECK(count_events(metrics, "resume") == 1);            // nothing recorded

    const auto extended = anvil_in(dir.path, "train run.toml --set training.steps=16");
    INFO(extended.err);
    REQUIRE(extended.exit_code == 0);
    CHECK_THAT(extended.err, Contains("training.steps went from 12 to 16: the cosine schedule"));
    CHECK_THAT(extended.err, Contains("training.schedule=\"constant\""));

    const auto exported = anvil_in(dir.path, "export runs/real --out hf");
    INFO(exported.err);
    REQUIRE(exported.exit_code == 0);
    const json tokenizer_config = json::parse(read_file(dir.path / "hf" / "tokenizer_config.json"));
    CHECK(tokenizer_config["eos_token"] == "[EOS]");
    CHECK(tokenizer_config["pad_token"] == "[PAD]");
    CHECK(tokenizer_config["unk_token"] == "[UNK]");
    const json config = json::parse(read_file(dir.path / "hf" / "config.json"));
    CHECK(config["eos_token_id"] == 3);
    CHECK(config["pad_token_id"] == 0);
  }
}

TEST_CASE("anvil check refuses what train would fail on, at the key that set it", "[e2e][data]") {
  const CorpusFolder corpus("e2e_real_check");
  const anvil::test::TempDir& dir = corpus.dir;

  SECTION("a sequence longer than the model's positions") {
    const auto r = anvil_in(dir.path, "check run.toml --set training.seq_len=64");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("run.toml:30:15: error: model.max_seq_len: 32 positions are fewer "
                               "than training.seq_len = 64"));
    CHECK_THAT(r.err, Contains("HINT: raise max_seq_len to at least 64"));
  }
  SECTION("an output folder that cannot be written") {
    const auto r = anvil_in(dir.path, "check run.toml --set 'run.out_dir=\"/proc/anvil-x\"'");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("error: run.out_dir: cannot write the folder /proc/anvil-x/real"));
  }
  SECTION("a glob that matches nothing, from the manifest and from --set") {
    write_file(dir.path / "glob.toml", "extends = \"run.toml\"\n[data]\ntrain = [\"corpus/*.jsonl.bz2\"]\n");
    const auto r = anvil_in(dir.path, "check glob.toml");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("glob.toml:3:10: error: data.train: corpus input 'corpus/*.jsonl.bz2' matches no file"));
    CHECK_THAT(r.err, Contains("relative to the file that sets it (" + dir.path.string() + ")"));
    fs::create_directories(dir.path / "elsewhere");
    const auto set = anvil_in(dir.path / "elsewhere",
                              "check ../run.toml --set 'data.train=[\"docs.jsonl\"]'");
    CHECK(set.exit_code == 2);
    CHECK_THAT(set.err, Contains("given with --set is relative to the current directory (" +
                                 (dir.path / "elsewhere").string() + ")"));
  }
  SECTION("warm-up as long as the run") {
    const auto r = anvil_in(dir.path, "check run.toml --set training.steps=2");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("error: training.warmup_steps: warmup_steps = 2 leaves no step after warm-up"));
  }
  SECTION("the plan shows the disk the kept checkpoints need") {
    const auto r = anvil_in(dir.path, "check run.toml");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("a checkpoint is"));
    CHECK_THAT(r.out, Contains("at once with keep_last = 3: fits"));
  }
}
