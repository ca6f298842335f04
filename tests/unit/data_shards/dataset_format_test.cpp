#include "data/dataset_format.h"

#include "support/temp_dir.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <xxhash.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace anvil::core;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

std::string hex(XXH128_hash_t hash) {
  char text[33];
  std::snprintf(text, sizeof text, "%016" PRIx64 "%016" PRIx64, static_cast<std::uint64_t>(hash.high64),
                static_cast<std::uint64_t>(hash.low64));
  return text;
}

template <class T>
std::vector<T> read_values(const fs::path& file) {
  const std::string bytes = read_bytes(file);
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

/// The message of the DataError `action` throws (fails the test if it throws nothing).
template <class F>
std::string data_error(F action) {
  try {
    action();
  } catch (const anvil::DataError& error) {
    return error.what();
  }
  FAIL("no DataError thrown");
  return {};
}

DatasetInfo sample_info() {
  DatasetInfo info;
  info.created_by = "anvil 0.1.0";
  info.token_type = TokenType::uint32;
  info.tokenizer = {"bpe", 100277, 100257, "<|endoftext|>", "0123456789abcdef0123456789abcdef"};
  info.config_fingerprint = "fedcba9876543210fedcba9876543210";
  SplitInfo train;
  train.shards.push_back(
      {"train-00000.tokens", "train-00000.index", 3, 1000, std::string(32, 'a'), std::string(32, 'b')});
  train.shards.push_back(
      {"train-00001.tokens", "train-00001.index", 2, 24, std::string(32, 'c'), std::string(32, 'd')});
  train.documents = 5;
  train.tokens = 1024;
  info.splits["train"] = train;
  info.splits["valid"] = SplitInfo{};
  info.details_json = R"({"stages": {"clean": {"documents": 7}}, "inputs": ["a.txt"]})";
  return info;
}

/// Writes sample_info() to `dir`, lets `edit` change the JSON, and writes it back.
template <class F>
void write_edited(const fs::path& dir, F edit) {
  write_dataset_info(dir, sample_info());
  json root = json::parse(read_bytes(dir / "dataset.json"));
  edit(root);
  write_bytes(dir / "dataset.json", root.dump());
}

}  // namespace

TEST_CASE("token type names and the choice by vocabulary size", "[dataset_format]") {
  CHECK(to_string(TokenType::uint16) == "uint16");
  CHECK(to_string(TokenType::uint32) == "uint32");
  CHECK(parse_token_type("uint16") == TokenType::uint16);
  CHECK(parse_token_type("uint32") == TokenType::uint32);
  CHECK_FALSE(parse_token_type("int32").has_value());
  CHECK(token_type_for(256) == TokenType::uint16);
  CHECK(token_type_for(50257) == TokenType::uint16);
  CHECK(token_type_for(65536) == TokenType::uint16);
  CHECK(token_type_for(65537) == TokenType::uint32);
  CHECK(token_type_for(100277) == TokenType::uint32);
  CHECK(token_bytes(TokenType::uint16) == 2);
  CHECK(token_bytes(TokenType::uint32) == 4);
}

TEST_CASE("dataset.json round trip", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  const DatasetInfo written = sample_info();
  write_dataset_info(dir.path, written);
  CHECK_FALSE(fs::exists(dir.path / "dataset.json.tmp"));

  const json root = json::parse(read_bytes(dir.path / "dataset.json"));
  CHECK(root["format"] == "anvil-dataset");
  CHECK(root["version"] == 2);
  CHECK(root["token_type"] == "uint32");
  CHECK(root["details"]["stages"]["clean"]["documents"] == 7);

  const DatasetInfo read = read_dataset_info(dir.path);
  CHECK(read.version == 2);
  CHECK(read.created_by == "anvil 0.1.0");
  CHECK(read.token_type == TokenType::uint32);
  CHECK(read.tokenizer.plugin == "bpe");
  CHECK(read.tokenizer.vocab_size == 100277);
  CHECK(read.tokenizer.eos_id == 100257);
  CHECK(read.tokenizer.eos_token == "<|endoftext|>");
  CHECK(read.tokenizer.fingerprint == written.tokenizer.fingerprint);
  CHECK(read.config_fingerprint == written.config_fingerprint);
  REQUIRE(read.splits.size() == 2);
  const SplitInfo& train = read.splits.at("train");
  CHECK(train.documents == 5);
  CHECK(train.tokens == 1024);
  REQUIRE(train.shards.size() == 2);
  CHECK(train.shards[1].tokens_file == "train-00001.tokens");
  CHECK(train.shards[1].index_file == "train-00001.index");
  CHECK(train.shards[1].documents == 2);
  CHECK(train.shards[1].tokens == 24);
  CHECK(train.shards[1].tokens_checksum == std::string(32, 'c'));
  CHECK(train.shards[1].index_checksum == std::string(32, 'd'));
  CHECK(read.splits.at("valid").shards.empty());
  // Read back as written, keys in their original order.
  CHECK(read.details_json == nlohmann::ordered_json::parse(written.details_json).dump(2));
  CHECK(json::parse(read.details_json)["inputs"][0] == "a.txt");

  // Rewriting what was read gives the same file.
  const std::string first = read_bytes(dir.path / "dataset.json");
  write_dataset_info(dir.path, read);
  CHECK(read_bytes(dir.path / "dataset.json") == first);
}

TEST_CASE("dataset.json read errors name the file and the field", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  const std::string file = "'" + (dir.path / "dataset.json").string() + "'";

  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + " does not exist: the folder holds no prepared dataset");

  write_bytes(dir.path / "dataset.json", "{\"format\": ");
  CHECK_THAT(data_error([&] { read_dataset_info(dir.path); }),
             Catch::StartsWith(file + " is not valid JSON: "));

  write_edited(dir.path, [](json& root) { root["splits"]["train"]["shards"][0].erase("tokens"); });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + ": field splits.train.shards[0].tokens is missing");

  write_edited(dir.path, [](json& root) { root["splits"]["train"]["shards"][1]["documents"] = -2; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + ": field splits.train.shards[1].documents is not an unsigned integer");

  write_edited(dir.path, [](json& root) { root["splits"]["train"]["shards"][0]["tokens"] = "1000"; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + ": field splits.train.shards[0].tokens is not an unsigned integer");

  write_edited(dir.path,
               [](json& root) { root["splits"]["train"]["shards"][0]["tokens_file"] = "../x.tokens"; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file +
            ": field splits.train.shards[0].tokens_file is not a file name in the dataset folder "
            "(\"../x.tokens\")");

  write_edited(dir.path, [](json& root) { root["splits"]["train"]["tokens"] = 1000; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + ": field splits.train.tokens is 1000 but the shards hold 1024 tokens");

  write_edited(dir.path, [](json& root) { root["splits"]["valid"].erase("shards"); });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) == file + ": field splits.valid.shards is missing");

  write_edited(dir.path, [](json& root) { root["tokenizer"].erase("vocab_size"); });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) == file + ": field tokenizer.vocab_size is missing");

  write_edited(dir.path, [](json& root) { root["tokenizer"]["eos_id"] = 1.5; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + ": field tokenizer.eos_id is not an integer in [-1, 2147483647]");

  write_edited(dir.path, [](json& root) { root["token_type"] = "int8"; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + ": field token_type is \"int8\", not \"uint16\" or \"uint32\"");

  write_edited(dir.path, [](json& root) { root["splits"] = json::array(); });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) == file + ": field splits is not an object");

  write_edited(dir.path, [](json& root) { root["format"] = "something-else"; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + ": field format is not \"anvil-dataset\": this is not an Anvil dataset description");

  write_edited(dir.path, [](json& root) { root["version"] = 3; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + " has dataset format version 3, but this Anvil reads version 2");

  // Version 1 encoded special-token text inside documents as special tokens: named as such.
  write_edited(dir.path, [](json& root) { root["version"] = 1; });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) ==
        file + " has dataset format version 1, made by an Anvil before 0.5 that encoded "
               "special-token text inside documents (\"<|endoftext|>\", \"[CLS]\") as special "
               "tokens; this Anvil reads version 2");

  write_edited(dir.path, [](json& root) { root.erase("created_by"); });
  CHECK(data_error([&] { read_dataset_info(dir.path); }) == file + ": field created_by is missing");
}

TEST_CASE("checksum_file is XXH3-128 of the file as 32 hex digits", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  write_bytes(dir.path / "empty", "");
  // The published XXH3-128 of no input (seed 0), high half first.
  CHECK(checksum_file(dir.path / "empty") == "99aa06d3014798d86001c324468d497f");
  CHECK(checksum_bytes(nullptr, 0) == "99aa06d3014798d86001c324468d497f");

  // Larger than one read chunk, so the streaming path is exercised.
  std::string bytes(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919) >> 3);
  write_bytes(dir.path / "data", bytes);
  const std::string expected = hex(XXH3_128bits(bytes.data(), bytes.size()));
  CHECK(checksum_file(dir.path / "data") == expected);
  CHECK(checksum_bytes(bytes.data(), bytes.size()) == expected);

  CHECK_THAT(data_error([&] { checksum_file(dir.path / "absent"); }),
             Catch::Contains("'" + (dir.path / "absent").string() + "'"));
}

TEST_CASE("fingerprint_folder hashes sorted names, sizes and contents", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  fs::create_directories(dir.path / "sub");
  write_bytes(dir.path / "vocab.json", "{\"a\": 0}");
  write_bytes(dir.path / "sub" / "merges.txt", "a b\n");

  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  for (const auto& [name, contents] :
       {std::pair<std::string, std::string>{"sub/merges.txt", "a b\n"}, {"vocab.json", "{\"a\": 0}"}}) {
    XXH3_128bits_update(state, name.c_str(), name.size() + 1);
    const std::uint64_t size = contents.size();
    XXH3_128bits_update(state, &size, 8);
    XXH3_128bits_update(state, contents.data(), contents.size());
  }
  const std::string expected = hex(XXH3_128bits_digest(state));
  XXH3_freeState(state);
  const std::string original = fingerprint_folder(dir.path);
  CHECK(original == expected);

  // Moving a byte from one file to the other changes the fingerprint.
  write_bytes(dir.path / "vocab.json", "{\"a\": 0");
  write_bytes(dir.path / "sub" / "merges.txt", "a b\n}");
  CHECK(fingerprint_folder(dir.path) != original);
  write_bytes(dir.path / "vocab.json", "{\"a\": 0}");
  write_bytes(dir.path / "sub" / "merges.txt", "a b\n");
  CHECK(fingerprint_folder(dir.path) == original);

  fs::rename(dir.path / "vocab.json", dir.path / "vocab2.json");
  CHECK(fingerprint_folder(dir.path) != original);
  fs::rename(dir.path / "vocab2.json", dir.path / "vocab.json");
  write_bytes(dir.path / "empty", "");
  CHECK(fingerprint_folder(dir.path) != original);

  CHECK_THAT(data_error([&] { fingerprint_folder(dir.path / "absent"); }),
             Catch::Contains("'" + (dir.path / "absent").string() + "'"));
}

TEST_CASE("ShardWriter starts a shard at shard_tokens and never splits a document", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  ShardWriter writer(dir.path, "train", TokenType::uint16, 10);
  const std::vector<std::vector<std::int32_t>> documents = {{1, 2, 3, 0},        {4, 5, 6, 0},
                                                            {7, 8, 9, 0},        {10, 11, 12, 13, 14, 15, 0},
                                                            {16, 17, 18, 19, 0}, {65535, 2, 0}};
  for (const auto& document : documents) writer.add_document(document.data(), document.size());
  const SplitInfo split = writer.finish();

  CHECK(split.documents == 6);
  CHECK(split.tokens == 27);
  REQUIRE(split.shards.size() == 3);
  // 4 + 4 + 4 reaches 10 only with the third document; 7 + 5; then the rest.
  const std::vector<std::uint64_t> documents_per_shard = {3, 2, 1};
  const std::vector<std::uint64_t> tokens_per_shard = {12, 12, 3};
  const std::vector<std::vector<std::uint64_t>> offsets = {{0, 4, 8, 12}, {0, 7, 12}, {0, 3}};
  const std::vector<std::vector<std::uint16_t>> tokens = {
      {1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0}, {10, 11, 12, 13, 14, 15, 0, 16, 17, 18, 19, 0}, {65535, 2, 0}};
  for (std::size_t s = 0; s < 3; ++s) {
    const ShardInfo& shard = split.shards[s];
    char name[32];
    std::snprintf(name, sizeof name, "train-%05zu", s);
    CHECK(shard.tokens_file == std::string(name) + ".tokens");
    CHECK(shard.index_file == std::string(name) + ".index");
    CHECK(shard.documents == documents_per_shard[s]);
    CHECK(shard.tokens == tokens_per_shard[s]);
    CHECK(read_values<std::uint64_t>(dir.path / shard.index_file) == offsets[s]);
    CHECK(read_values<std::uint16_t>(dir.path / shard.tokens_file) == tokens[s]);
    CHECK(fs::file_size(dir.path / shard.tokens_file) == 2 * tokens_per_shard[s]);
    CHECK(shard.tokens_checksum == checksum_file(dir.path / shard.tokens_file));
    CHECK(shard.index_checksum == checksum_file(dir.path / shard.index_file));
  }
  // Little-endian on disk whatever reads it.
  CHECK(read_bytes(dir.path / "train-00002.tokens").substr(0, 4) == std::string("\xff\xff\x02\x00", 4));
}

TEST_CASE("ShardWriter checksums match across buffer flushes", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  ShardWriter writer(dir.path, "valid", TokenType::uint32, std::uint64_t{1} << 40);
  // 3 documents of 1.5M uint32 tokens: 18 MB, several flushes of the write buffer.
  std::vector<std::int32_t> ids(1500000);
  for (int d = 0; d < 3; ++d) {
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>(i * 31 + d) & 0x7FFFFFF;
    writer.add_document(ids.data(), ids.size());
  }
  const SplitInfo split = writer.finish();
  REQUIRE(split.shards.size() == 1);
  CHECK(split.shards[0].tokens_file == "valid-00000.tokens");
  CHECK(fs::file_size(dir.path / "valid-00000.tokens") == 3 * 1500000 * 4);
  CHECK(split.shards[0].tokens_checksum == checksum_file(dir.path / "valid-00000.tokens"));
  const auto tokens = read_values<std::uint32_t>(dir.path / "valid-00000.tokens");
  CHECK(tokens[2 * 1500000 + 12345] == ((12345u * 31 + 2) & 0x7FFFFFF));
}

TEST_CASE("ShardWriter uses 4 bytes per token for uint32", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  ShardWriter writer(dir.path, "train", TokenType::uint32, 1000);
  const std::vector<std::int32_t> document = {70000, 100277, 3, 100257};
  writer.add_document(document.data(), document.size());
  const SplitInfo split = writer.finish();
  REQUIRE(split.shards.size() == 1);
  CHECK(read_values<std::uint32_t>(dir.path / "train-00000.tokens") ==
        std::vector<std::uint32_t>{70000, 100277, 3, 100257});
}

TEST_CASE("ShardWriter rejects ids that do not fit the token type", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  ShardWriter writer(dir.path, "train", TokenType::uint16, 1000);
  const std::vector<std::int32_t> good = {1, 2, 0};
  writer.add_document(good.data(), good.size());
  const std::vector<std::int32_t> too_large = {1, 65536, 0};
  CHECK(data_error([&] { writer.add_document(too_large.data(), too_large.size()); }) ==
        "token id 65536 at position 1 of document 1 of split 'train' does not fit the dataset's token type "
        "uint16 (0..65535)");
  const std::vector<std::int32_t> negative = {-1};
  CHECK_THAT(data_error([&] { writer.add_document(negative.data(), negative.size()); }),
             Catch::StartsWith("token id -1 at position 0 of document 1"));
  // The rejected documents left nothing behind.
  writer.add_document(good.data(), good.size());
  const SplitInfo split = writer.finish();
  CHECK(split.documents == 2);
  CHECK(read_values<std::uint16_t>(dir.path / "train-00000.tokens") ==
        std::vector<std::uint16_t>{1, 2, 0, 1, 2, 0});

  ShardWriter wide(dir.path, "valid", TokenType::uint32, 1000);
  const std::vector<std::int32_t> below_zero = {5, -7};
  CHECK_THAT(data_error([&] { wide.add_document(below_zero.data(), below_zero.size()); }),
             Catch::Contains("token id -7") && Catch::Contains("uint32"));
}

TEST_CASE("ShardWriter with no documents writes no shard", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  ShardWriter writer(dir.path, "valid", TokenType::uint16, 1000);
  const SplitInfo split = writer.finish();
  CHECK(split.documents == 0);
  CHECK(split.tokens == 0);
  CHECK(split.shards.empty());
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("ShardWriter names the file it cannot create", "[dataset_format]") {
  anvil::test::TempDir dir("anvil_format");
  ShardWriter writer(dir.path / "absent", "train", TokenType::uint16, 1000);
  const std::vector<std::int32_t> document = {1, 0};
  CHECK_THAT(
      data_error([&] { writer.add_document(document.data(), document.size()); }),
      Catch::StartsWith("cannot create '" + (dir.path / "absent" / "train-00000.tokens").string() + "'"));
}
