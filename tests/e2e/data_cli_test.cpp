// End-to-end: `anvil data prepare` and `anvil data inspect` on the fixture corpus, from a
// manifest and from flags, and every way a dataset can be wrong.
#include "run_process.h"
#include "support/temp_dir.h"

#include <catch2/catch.hpp>

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

namespace {

const std::string kData = std::string(ANVIL_SOURCE_DIR) + "/tests/fixtures/data";
const std::string kManifest = kData + "/prepare.toml";

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

anvil::test::ProcessResult prepare(const fs::path& out, const std::string& extra = "") {
  return run_anvil("data prepare " + kManifest + " --out " + out.string() + " " + extra);
}

}  // namespace

TEST_CASE("data prepare reports exact counts per stage and writes the dataset", "[e2e][data]") {
  anvil::test::TempDir dir("e2e_prepare");
  const auto r = prepare(dir.path / "ds");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(has_row(r.out, {"read", "16", "16"}));
  CHECK(has_row(r.out, {"clean", "16", "14"}));
  CHECK(has_row(r.out, {"dedup", "14", "11"}));
  CHECK(has_row(r.out, {"tokenize", "11", "11"}));
  CHECK_THAT(r.out, Contains("removed: 1 too short, 1 too many symbols, 2 exact duplicates, 1 near duplicates"));
  CHECK_THAT(r.out, Contains("repaired: 1 documents with invalid UTF-8"));
  CHECK_THAT(r.out, Contains("train: 9 documents"));
  CHECK_THAT(r.out, Contains("valid: 2 documents"));
  CHECK(fs::exists(dir.path / "ds" / "dataset.json"));
  CHECK(fs::exists(dir.path / "ds" / "train-00000.tokens"));
  CHECK(fs::exists(dir.path / "ds" / "tokenizer" / "anvil-tokenizer.toml"));

  SECTION("a second prepare finds it up to date, --force rebuilds it identically") {
    const auto again = prepare(dir.path / "ds");
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.out, Contains("is up to date"));
    const std::string tokens = read_file(dir.path / "ds" / "train-00000.tokens");
    const auto forced = prepare(dir.path / "ds", "--force --workers 1");
    REQUIRE(forced.exit_code == 0);
    CHECK_THAT(forced.out, Contains("train: 9 documents"));
    CHECK(read_file(dir.path / "ds" / "train-00000.tokens") == tokens);
  }
  SECTION("changed options make it out of date") {
    const auto changed = prepare(dir.path / "ds", "--set data.dedup.near=false");
    REQUIRE(changed.exit_code == 0);
    CHECK_THAT(changed.out, Contains("0 near duplicates"));
    CHECK_THAT(changed.out, Contains("train: 10 documents"));
  }
  SECTION("inspect verifies it and shows counts, top tokens and decoded windows") {
    const auto inspect = run_anvil("data inspect " + (dir.path / "ds").string() + " --top 5 --samples 2 --seq-len 16");
    INFO(inspect.err);
    REQUIRE(inspect.exit_code == 0);
    CHECK_THAT(inspect.out, Contains("checksums: verified"));
    CHECK(has_row(inspect.out, {"train", "9"}));
    CHECK(has_row(inspect.out, {"valid", "2"}));
    CHECK_THAT(inspect.out, Contains("top 5 tokens of train"));
    CHECK(has_row(inspect.out, {"dedup", "14", "11"}));
    CHECK_THAT(inspect.out, Contains("2 training windows of 16 tokens"));
    CHECK(has_row(inspect.out, {"[1]"}));
  }
  SECTION("a flipped byte in a shard is a checksum mismatch naming the file") {
    const fs::path shard = dir.path / "ds" / "train-00000.tokens";
    std::string bytes = read_file(shard);
    bytes[10] = static_cast<char>(bytes[10] ^ 1);
    std::ofstream(shard, std::ios::binary | std::ios::trunc) << bytes;
    const auto inspect = run_anvil("data inspect " + (dir.path / "ds").string());
    CHECK(inspect.exit_code == 1);
    CHECK_THAT(inspect.err, Contains("train-00000.tokens"));
    CHECK_THAT(inspect.err, Contains("checksum mismatch"));
    // prepare notices nothing (sizes are right) but --force repairs it.
    REQUIRE(prepare(dir.path / "ds", "--force").exit_code == 0);
    CHECK(run_anvil("data inspect " + (dir.path / "ds").string()).exit_code == 0);
  }
  SECTION("a truncated shard is named with expected and actual sizes") {
    const fs::path shard = dir.path / "ds" / "valid-00000.tokens";
    const auto size = fs::file_size(shard);
    fs::resize_file(shard, size - 3);
    const auto inspect = run_anvil("data inspect " + (dir.path / "ds").string());
    CHECK(inspect.exit_code == 1);
    CHECK_THAT(inspect.err, Contains("valid-00000.tokens"));
    CHECK_THAT(inspect.err, Contains("truncated"));
    // A damaged dataset is never "up to date".
    const auto again = prepare(dir.path / "ds");
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.out, Contains("train: 9 documents"));
  }
  SECTION("a missing shard is named") {
    fs::remove(dir.path / "ds" / "train-00000.index");
    const auto inspect = run_anvil("data inspect " + (dir.path / "ds").string());
    CHECK(inspect.exit_code == 1);
    CHECK_THAT(inspect.err, Contains("train-00000.index"));
  }
  SECTION("check accepts the dataset for its run") {
    const auto check = run_anvil("check " + kManifest + " --set data.dataset=" + (dir.path / "ds").string());
    INFO(check.err);
    REQUIRE(check.exit_code == 0);
    CHECK_THAT(check.out, Contains("train " ));
    CHECK_THAT(check.out, Contains("valid "));
    CHECK_THAT(check.out, !Contains("out of date"));
  }
  SECTION("check names a tokenizer mismatch between the dataset and the run") {
    const auto check = run_anvil("check " + kManifest + " --set data.dataset=" + (dir.path / "ds").string() +
                                 " --set tokenizer.mode=codepoints");
    CHECK(check.exit_code == 1);
    CHECK_THAT(check.err, Contains("was tokenized with another tokenizer"));
    CHECK_THAT(check.err, Contains("mode: dataset \"bytes\", run \"codepoints\""));
  }
  SECTION("check refuses a seq_len longer than the training data") {
    const auto check = run_anvil("check " + kManifest + " --set data.dataset=" + (dir.path / "ds").string() +
                                 " --set training.seq_len=1000000");
    CHECK(check.exit_code == 1);
    CHECK_THAT(check.err, Contains("fewer than seq_len + 1 = 1000001"));
  }
}

TEST_CASE("data prepare from flags matches the manifest and reads gzip input", "[e2e][data]") {
  anvil::test::TempDir dir("e2e_flags");
  REQUIRE(prepare(dir.path / "ds").exit_code == 0);
  const std::string common = " --tokenizer " + (dir.path / "ds" / "tokenizer").string() +
                             " --set data.clean.min_chars=10 --set data.clean.max_symbol_ratio=0.3"
                             " --set data.shard_tokens=1500";
  const auto flags = run_anvil("data prepare --input " + kData + "/corpus --valid " + kData +
                               "/valid.txt --out " + (dir.path / "flags").string() + common);
  INFO(flags.err);
  REQUIRE(flags.exit_code == 0);
  CHECK(read_file(dir.path / "flags" / "train-00000.tokens") ==
        read_file(dir.path / "ds" / "train-00000.tokens"));

  fs::copy_file(kData + "/corpus/plays.txt", dir.path / "plays.txt");
  REQUIRE(anvil::test::run_process("gzip -n " + (dir.path / "plays.txt").string()).exit_code == 0);
  const auto gz = run_anvil("data prepare --input " + (dir.path / "plays.txt.gz").string() +
                            " --out " + (dir.path / "gz").string() + common +
                            " --set data.valid_fraction=0");
  INFO(gz.err);
  REQUIRE(gz.exit_code == 0);
  CHECK(has_row(gz.out, {"read", "10", "10"}));
  CHECK(has_row(gz.out, {"dedup", "8", "6"}));
}

TEST_CASE("data prepare errors name the input, the key or the reason", "[e2e][data]") {
  anvil::test::TempDir dir("e2e_errors");
  const auto missing = run_anvil("data prepare " + kManifest + " --out " + (dir.path / "x").string() +
                                 " --set 'data.train=[\"no/such/file.txt\"]'");
  CHECK(missing.exit_code == 2);  // a manifest error, at the override that set it
  CHECK_THAT(missing.err, Contains("error: data.train: corpus input 'no/such/file.txt' matches no file"));
  CHECK_THAT(missing.err, Contains("HINT: a relative path given with --set is relative to the current directory"));

  const auto typo = run_anvil("data prepare " + kManifest + " --set data.clean.min_char=3");
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Contains("data.clean.min_char"));
  CHECK_THAT(typo.err, Contains("did you mean 'min_chars'"));

  const auto empty = run_anvil("data prepare " + kManifest + " --out " + (dir.path / "e").string() +
                               " --set data.clean.min_chars=100000");
  CHECK(empty.exit_code == 1);
  CHECK_THAT(empty.err, Contains("empty after cleaning and deduplication"));
  CHECK_FALSE(fs::exists(dir.path / "e"));

  fs::create_directories(dir.path / "precious");
  std::ofstream(dir.path / "precious" / "notes.txt") << "keep me";
  const auto clobber = prepare(dir.path / "precious");
  CHECK(clobber.exit_code == 1);
  CHECK_THAT(clobber.err, Contains("is not a dataset"));
  CHECK(read_file(dir.path / "precious" / "notes.txt") == "keep me");

  const auto eos = prepare(dir.path / "eos", "--set 'data.eos_token=\"<|nope|>\"'");
  CHECK(eos.exit_code == 1);
  CHECK_THAT(eos.err, Contains("no end-of-document token \"<|nope|>\""));
}

TEST_CASE("data prepare trains a BPE tokenizer on the cleaned corpus and inspect decodes with it",
          "[e2e][data]") {
  anvil::test::TempDir dir("e2e_bpe");
  const auto r = prepare(dir.path / "ds", "--set tokenizer.plugin=bpe --set tokenizer.vocab_size=300");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("tokenizer trained in"));
  CHECK_THAT(r.out, Contains("tokenizer: bpe (vocabulary 300, uint16 tokens"));
  CHECK_THAT(r.out, Contains("train: 9 documents"));
  const auto inspect = run_anvil("data inspect " + (dir.path / "ds").string() + " --samples 1");
  INFO(inspect.err);
  REQUIRE(inspect.exit_code == 0);
  CHECK_THAT(inspect.out, Contains("tokenizer: bpe, vocabulary 300"));
  CHECK_THAT(inspect.out, Contains("1 training windows of 64 tokens"));
  // The dataset's tokenizer folder can be used directly by the tokenizer commands.
  const auto encoded = run_anvil("tokenizer encode --tokenizer " + (dir.path / "ds" / "tokenizer").string() +
                                 " " + kData + "/valid.txt");
  CHECK(encoded.exit_code == 0);
}
