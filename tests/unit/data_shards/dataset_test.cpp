#include "data/dataset.h"

#include "support/data_error.h"
#include "support/temp_dir.h"
#include "support/test_tokenizer_folder.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace anvil::core;
using anvil::test::data_error;
using anvil::test::write_test_tokenizer;
namespace fs = std::filesystem;

namespace {

using Documents = std::vector<std::vector<std::int32_t>>;

/// `count` documents of 1..max_length random ids below `vocab`, each ending with EOS 0.
Documents random_documents(std::size_t count, std::size_t max_length, std::int32_t vocab,
                           std::uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::size_t> length(1, max_length);
  std::uniform_int_distribution<std::int32_t> id(1, vocab - 1);
  Documents documents(count);
  for (auto& document : documents) {
    document.resize(length(random));
    for (auto& token : document) token = id(random);
    document.back() = 0;
  }
  return documents;
}

SplitInfo write_split(const fs::path& dir, const std::string& name, const Documents& documents,
                      TokenType type, std::uint64_t shard_tokens) {
  ShardWriter writer(dir, name, type, shard_tokens);
  for (const auto& document : documents) writer.add_document(document.data(), document.size());
  return writer.finish();
}

/// A dataset with a train split of `train` and an empty valid split.
void write_dataset(const fs::path& dir, const Documents& train, TokenType type, std::uint64_t shard_tokens) {
  DatasetInfo info;
  info.created_by = "anvil test";
  info.token_type = type;
  info.tokenizer = {"test", type == TokenType::uint16 ? 50257 : 100277, 0, "<eos>",
                    write_test_tokenizer(dir)};
  info.splits["train"] = write_split(dir, "train", train, type, shard_tokens);
  info.splits["valid"] = write_split(dir, "valid", {}, type, shard_tokens);
  write_dataset_info(dir, info);
}


void flip_byte(const fs::path& file, std::streamoff offset) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.seekg(offset);
  const char byte = static_cast<char>(io.get() ^ 0x5A);
  io.seekp(offset);
  io.put(byte);
}

void write_offset(const fs::path& file, std::uint64_t position, std::uint64_t value) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.seekp(static_cast<std::streamoff>(position * 8));
  io.write(reinterpret_cast<const char*>(&value), 8);
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

}  // namespace

TEST_CASE("written documents come back from the token stream, across shards", "[dataset]") {
  const TokenType type = GENERATE(TokenType::uint16, TokenType::uint32);
  anvil::test::TempDir dir("anvil_dataset");
  const Documents documents = random_documents(300, 60, type == TokenType::uint16 ? 50257 : 100277, 7);
  write_dataset(dir.path, documents, type, 500);

  const Dataset dataset = Dataset::open(dir.path);
  CHECK(dataset.dir() == dir.path);
  CHECK(dataset.info().token_type == type);
  REQUIRE(dataset.info().splits.at("train").shards.size() > 5);
  const TokenStream& stream = dataset.split("train");
  std::vector<std::int64_t> expected;
  for (const auto& document : documents) expected.insert(expected.end(), document.begin(), document.end());
  REQUIRE(stream.size() == expected.size());
  REQUIRE(stream.documents() == documents.size());

  std::vector<std::int64_t> all(stream.size());
  stream.read(0, all.size(), all.data());
  CHECK(all == expected);

  std::uint64_t start = 0;
  for (std::size_t d = 0; d < documents.size(); ++d) {
    const auto [first, last] = stream.document(d);
    REQUIRE(first == start);
    REQUIRE(last == start + documents[d].size());
    std::vector<std::int64_t> tokens(last - first);
    stream.read(first, tokens.size(), tokens.data());
    REQUIRE(tokens == std::vector<std::int64_t>(documents[d].begin(), documents[d].end()));
    start = last;
  }

  // A read that starts 3 tokens before the second shard and ends 3 tokens into the third.
  const ShardInfo& first_shard = dataset.info().splits.at("train").shards[0];
  const ShardInfo& second_shard = dataset.info().splits.at("train").shards[1];
  const std::uint64_t begin = first_shard.tokens - 3;
  const std::size_t count = 3 + second_shard.tokens + 3;
  std::vector<std::int64_t> across(count);
  stream.read(begin, count, across.data());
  CHECK(across == std::vector<std::int64_t>(expected.begin() + static_cast<std::ptrdiff_t>(begin),
                                            expected.begin() + static_cast<std::ptrdiff_t>(begin + count)));

  const TokenStream& valid = dataset.split("valid");
  CHECK(valid.size() == 0);
  CHECK(valid.documents() == 0);
}

TEST_CASE("a split is looked up by name", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  write_dataset(dir.path, random_documents(10, 20, 1000, 1), TokenType::uint16, 1000);
  const Dataset dataset = Dataset::open(dir.path, {false});
  CHECK(dataset.has_split("train"));
  CHECK(dataset.has_split("valid"));
  CHECK_FALSE(dataset.has_split("test"));
  CHECK(data_error([&] { dataset.split("test"); }) ==
        "the dataset " + quoted(dir.path) +
            " has no split 'test' (it has: train, valid) | HINT: prepare the "
            "dataset with that split, or use one of the splits it has");
}

TEST_CASE("open names a missing folder and a missing dataset.json", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  CHECK_THAT(data_error([&] { Dataset::open(dir.path / "absent"); }),
             Catch::StartsWith("the dataset folder " + quoted(dir.path / "absent") + " does not exist"));
  CHECK_THAT(data_error([&] { Dataset::open(dir.path); }),
             Catch::StartsWith(quoted(dir.path / "dataset.json") + " does not exist"));
}

TEST_CASE("open fails on a missing shard", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  write_dataset(dir.path, random_documents(100, 50, 1000, 2), TokenType::uint16, 500);
  fs::remove(dir.path / "train-00001.tokens");
  CHECK(data_error([&] { Dataset::open(dir.path); }) ==
        quoted(dir.path / "train-00001.tokens") +
            " is missing | HINT: the dataset is incomplete; run anvil data prepare again");
}

TEST_CASE("open fails on a truncated tokens file", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  write_dataset(dir.path, random_documents(100, 50, 1000, 3), TokenType::uint16, 500);
  const fs::path file = dir.path / "train-00002.tokens";
  const std::uintmax_t size = fs::file_size(file);
  fs::resize_file(file, size - 2);
  CHECK(data_error([&] { Dataset::open(dir.path, {false}); }) ==
        quoted(file) + " is truncated: expected " + std::to_string(size) + " bytes, found " +
            std::to_string(size - 2) + " | HINT: the dataset is incomplete; run anvil data prepare again");
  fs::resize_file(file, size + 2);
  CHECK_THAT(data_error([&] { Dataset::open(dir.path, {false}); }),
             Catch::StartsWith(quoted(file) + " has the wrong size: expected " + std::to_string(size) +
                               " bytes, found " + std::to_string(size + 2)));
}

TEST_CASE("open detects a flipped byte by its checksum", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  const Documents documents = random_documents(100, 50, 1000, 4);
  write_dataset(dir.path, documents, TokenType::uint16, 500);
  const fs::path file = dir.path / "train-00001.tokens";
  const std::string expected = read_dataset_info(dir.path).splits.at("train").shards[1].tokens_checksum;
  flip_byte(file, 10);
  const std::string actual = checksum_file(file);
  REQUIRE(actual != expected);
  CHECK(data_error([&] { Dataset::open(dir.path); }) ==
        quoted(file) + ": checksum mismatch: expected " + expected + ", got " + actual +
            " | HINT: the dataset is damaged; run anvil data prepare again");

  // Without verification the dataset opens, and the damage is visible in the tokens.
  const Dataset dataset = Dataset::open(dir.path, {false});
  const std::uint64_t shard_start = dataset.info().splits.at("train").shards[0].tokens;
  std::int64_t token = 0;
  dataset.split("train").read(shard_start + 5, 1, &token);
  std::vector<std::int64_t> all;
  for (const auto& document : documents) all.insert(all.end(), document.begin(), document.end());
  CHECK(token == (all[shard_start + 5] ^ 0x5A));
}

TEST_CASE("open fails on an index that does not match its tokens", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  write_dataset(dir.path, random_documents(100, 50, 1000, 5), TokenType::uint16, 500);
  const ShardInfo shard = read_dataset_info(dir.path).splits.at("train").shards[0];
  const fs::path file = dir.path / shard.index_file;
  const std::string hint = " | HINT: the dataset is damaged; run anvil data prepare again";
  const std::string prefix = quoted(file) + " does not match its tokens file: ";
  std::vector<std::uint64_t> offsets(shard.documents + 1);
  std::ifstream(file, std::ios::binary)
      .read(reinterpret_cast<char*>(offsets.data()), static_cast<std::streamsize>(offsets.size() * 8));

  write_offset(file, 2, offsets[1] - 1);
  CHECK(data_error([&] { Dataset::open(dir.path, {false}); }) ==
        prefix + "offset 2 (" + std::to_string(offsets[1] - 1) + ") is smaller than offset 1 (" +
            std::to_string(offsets[1]) + ")" + hint);
  // With verification on, the checksum catches it first.
  CHECK_THAT(data_error([&] { Dataset::open(dir.path); }), Catch::Contains("checksum mismatch"));
  write_offset(file, 2, offsets[2]);

  write_offset(file, shard.documents, shard.tokens + 1);
  CHECK(data_error([&] { Dataset::open(dir.path, {false}); }) ==
        prefix + "the last offset is " + std::to_string(shard.tokens + 1) + ", not the shard's " +
            std::to_string(shard.tokens) + " tokens" + hint);
  write_offset(file, shard.documents, shard.tokens);

  write_offset(file, 0, 1);
  CHECK(data_error([&] { Dataset::open(dir.path, {false}); }) ==
        prefix + "the first offset is 1, not 0" + hint);
  write_offset(file, 0, 0);
  CHECK_NOTHROW(Dataset::open(dir.path));
}

TEST_CASE("open fails on a dataset.json describing more than the files hold", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  write_dataset(dir.path, random_documents(20, 50, 1000, 6), TokenType::uint16, 1 << 20);
  DatasetInfo info = read_dataset_info(dir.path);
  info.splits["train"].shards[0].documents += 1;
  info.splits["train"].documents += 1;
  write_dataset_info(dir.path, info);
  const fs::path index = dir.path / "train-00000.index";
  CHECK_THAT(data_error([&] { Dataset::open(dir.path); }),
             Catch::StartsWith(quoted(index) + " is truncated: expected " +
                               std::to_string(fs::file_size(index) + 8) + " bytes, found " +
                               std::to_string(fs::file_size(index))));
}

TEST_CASE("a moved-from dataset leaves the streams usable in the new owner", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  const Documents documents = random_documents(50, 30, 1000, 8);
  write_dataset(dir.path, documents, TokenType::uint16, 200);
  Dataset dataset = Dataset::open(dir.path);
  const Dataset moved = std::move(dataset);
  std::int64_t token = -1;
  moved.split("train").read(0, 1, &token);
  CHECK(token == documents[0][0]);
}

TEST_CASE("open refuses a tokenizer folder that is not the one that made the shards", "[dataset]") {
  anvil::test::TempDir dir("anvil_dataset");
  write_dataset(dir.path, random_documents(10, 20, 50257, 3), TokenType::uint16, 500);
  std::ofstream(dir.path / kDatasetTokenizerDir / "vocab.txt", std::ios::app) << "one more token\n";
  const std::string message = data_error([&] { Dataset::open(dir.path); });
  CHECK_THAT(message, Catch::Contains("is not the one that made the shards"));
  CHECK_THAT(message, Catch::Contains(quoted(dir.path / kDatasetTokenizerDir)));
  // Only verification looks at the tokenizer's files.
  CHECK_NOTHROW(Dataset::open(dir.path, {/*verify_checksums=*/false}));

  fs::remove_all(dir.path / kDatasetTokenizerDir);
  CHECK_THAT(data_error([&] { Dataset::open(dir.path); }), Catch::Contains("has no tokenizer folder"));
}
