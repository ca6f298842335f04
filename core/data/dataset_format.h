#pragma once
// The on-disk format of a prepared dataset (see docs/data.md):
//
//   <dir>/dataset.json          what is below, counts, tokenizer identity, checksums
//   <dir>/tokenizer/            the tokenizer that made the shards (anvil-tokenizer.toml + files)
//   <dir>/<split>-NNNNN.tokens  little-endian uint16 or uint32 token ids; every document's
//                               tokens are followed by the end-of-document (EOS) token, the
//                               only special token in a shard (document text is encoded with
//                               special-token text as ordinary text)
//   <dir>/<split>-NNNNN.index   little-endian uint64: documents+1 token offsets into the
//                               shard, the first 0 and the last the shard's token count
//
// Splits are "train" and "valid". A document never spans two shards.

#include "io/checksum.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::core {

// Version 2: documents are encoded with special-token text as ordinary text (version 1 turned
// "<|endoftext|>" quoted in a document into the end-of-document token).
inline constexpr int kDatasetFormatVersion = 2;
inline constexpr const char* kDatasetInfoFile = "dataset.json";
inline constexpr const char* kDatasetTokenizerDir = "tokenizer";

enum class TokenType { uint16, uint32 };
/// "uint16" / "uint32", and back (nullopt for anything else).
std::string_view to_string(TokenType type);
std::optional<TokenType> parse_token_type(std::string_view name);
/// uint16 when every id of a vocabulary of `vocab_size` fits, else uint32.
TokenType token_type_for(std::int64_t vocab_size);
std::size_t token_bytes(TokenType type);

/// One shard of a split: file names are relative to the dataset folder.
struct ShardInfo {
  std::string tokens_file;
  std::string index_file;
  std::uint64_t documents = 0;
  std::uint64_t tokens = 0;
  std::string tokens_checksum;  ///< XXH3-128 of the file, 32 lowercase hex digits
  std::string index_checksum;
};

struct SplitInfo {
  std::uint64_t documents = 0;
  std::uint64_t tokens = 0;
  /// UTF-8 bytes of the documents' cleaned text (EOS excluded): the denominator of bits per
  /// byte, which compares models across tokenizers. 0 when unknown.
  std::uint64_t text_bytes = 0;
  std::vector<ShardInfo> shards;
};

/// Which tokenizer made the shards; a run must use the same one.
struct TokenizerIdentity {
  std::string plugin;
  std::int64_t vocab_size = 0;
  std::int32_t eos_id = -1;
  std::string eos_token;
  /// XXH3-128 over the names and contents of the files in <dir>/tokenizer, sorted by name.
  std::string fingerprint;
};

/// The contents of dataset.json.
struct DatasetInfo {
  int version = kDatasetFormatVersion;
  std::string created_by;  ///< "anvil <version>"
  TokenType token_type = TokenType::uint16;
  TokenizerIdentity tokenizer;
  std::map<std::string, SplitInfo> splits;  ///< "train", "valid"
  /// Hash of everything that determined the contents (inputs, options, tokenizer): prepare
  /// compares it to decide whether an existing dataset is up to date.
  std::string config_fingerprint;
  /// A JSON object with the rest (stage counts and times, options, inputs), written verbatim
  /// under "details" and read back as text; "{}" when there is none.
  std::string details_json = "{}";
};

/// Writes `info` as <dir>/dataset.json (through a temporary file and a rename).
void write_dataset_info(const std::filesystem::path& dir, const DatasetInfo& info);
/// Reads <dir>/dataset.json. Throws DataError naming the file and the missing or malformed
/// field, or the unsupported version.
DatasetInfo read_dataset_info(const std::filesystem::path& dir);

/// Appends documents to the shards of one split, computing the checksums while writing.
class ShardWriter {
 public:
  /// Shards are named <split>-00000.tokens/.index, ... in `dir`; a new shard starts when the
  /// current one holds at least `shard_tokens` tokens.
  ShardWriter(std::filesystem::path dir, std::string split, TokenType type,
              std::uint64_t shard_tokens);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  /// Appends one document's ids (the caller has appended the EOS token). Throws DataError if
  /// an id does not fit the token type, or on a write error naming the file.
  void add_document(const std::int32_t* ids, std::size_t count);
  /// Flushes and fsyncs the last shard and returns the split's description.
  SplitInfo finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anvil::core
