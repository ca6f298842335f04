#include "data/dataset_format.h"

#include "io/checksum.h"
#include "io/durable_file.h"

#include <anvil/errors.h>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>
#include <system_error>

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace anvil::core {

// Shards are written and later memory-mapped as native integers.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "token shards are little-endian");

namespace {

constexpr const char* kFormatName = "anvil-dataset";
constexpr const char* kPrepareAgainHint = "run anvil data prepare again to rebuild the dataset";
constexpr std::size_t kTokenBufferBytes = std::size_t{4} << 20;
constexpr std::size_t kIndexBufferBytes = std::size_t{64} << 10;

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

/// An output file behind a large buffer, hashed as the bytes leave the buffer (no re-read).
class HashedWriter {
 public:
  HashedWriter(fs::path path, std::size_t buffer_bytes) : file_(std::move(path)), buffer_(buffer_bytes) {}

  /// Room for at least `bytes` (<= the buffer size) at the end of the buffer.
  unsigned char* reserve(std::size_t bytes) {
    if (buffer_.size() - used_ < bytes) flush();
    return buffer_.data() + used_;
  }
  void commit(std::size_t bytes) { used_ += bytes; }
  std::size_t free_bytes() const noexcept { return buffer_.size() - used_; }
  void append(const void* data, std::size_t bytes) {
    std::memcpy(reserve(bytes), data, bytes);
    commit(bytes);
  }
  /// Writes the rest, syncs, closes; returns the checksum of everything written.
  std::string finish() {
    flush();
    file_.sync_and_close();
    return hash_.hex();
  }
  void flush() {
    hash_.update(buffer_.data(), used_);
    file_.write(buffer_.data(), used_);
    used_ = 0;
  }

 private:
  DurableFile file_;
  Checksum hash_;
  std::vector<unsigned char> buffer_;
  std::size_t used_ = 0;
};

// --- dataset.json reading: every error names the file and the field path ---

class FieldReader {
 public:
  explicit FieldReader(fs::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
    throw DataError(quoted(file_) + ": field " + path + " " + problem, kPrepareAgainHint);
  }
  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  const ordered_json& member(const ordered_json& object, const std::string& path,
                             const std::string& key) const {
    const auto it = object.find(key);
    if (it == object.end()) fail(join(path, key), "is missing");
    return *it;
  }
  const ordered_json& object(const ordered_json& parent, const std::string& path,
                             const std::string& key) const {
    const ordered_json& value = member(parent, path, key);
    if (!value.is_object()) fail(join(path, key), "is not an object");
    return value;
  }
  const ordered_json& array(const ordered_json& parent, const std::string& path,
                            const std::string& key) const {
    const ordered_json& value = member(parent, path, key);
    if (!value.is_array()) fail(join(path, key), "is not an array");
    return value;
  }
  std::string string(const ordered_json& parent, const std::string& path, const std::string& key) const {
    const ordered_json& value = member(parent, path, key);
    if (!value.is_string()) fail(join(path, key), "is not a string");
    return value.get<std::string>();
  }
  std::uint64_t unsigned_integer(const ordered_json& parent, const std::string& path,
                                 const std::string& key) const {
    const ordered_json& value = member(parent, path, key);
    if (!value.is_number_unsigned()) fail(join(path, key), "is not an unsigned integer");
    return value.get<std::uint64_t>();
  }
  std::int64_t integer(const ordered_json& parent, const std::string& path, const std::string& key,
                       std::int64_t min, std::int64_t max) const {
    const ordered_json& value = member(parent, path, key);
    const bool in_range =
        value.is_number_integer() &&
        (value.is_number_unsigned() ? value.get<std::uint64_t>() <= static_cast<std::uint64_t>(max)
                                    : value.get<std::int64_t>() >= min && value.get<std::int64_t>() <= max);
    if (!in_range)
      fail(join(path, key),
           "is not an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return value.get<std::int64_t>();
  }
  /// A shard file name: a plain name inside the dataset folder, never a path leading out of it.
  std::string file_name(const ordered_json& parent, const std::string& path, const std::string& key) const {
    std::string name = string(parent, path, key);
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      fail(join(path, key), "is not a file name in the dataset folder (\"" + name + "\")");
    return name;
  }

 private:
  fs::path file_;
};

ShardInfo read_shard(const FieldReader& reader, const ordered_json& value, const std::string& path) {
  if (!value.is_object()) reader.fail(path, "is not an object");
  ShardInfo shard;
  shard.tokens_file = reader.file_name(value, path, "tokens_file");
  shard.index_file = reader.file_name(value, path, "index_file");
  shard.documents = reader.unsigned_integer(value, path, "documents");
  shard.tokens = reader.unsigned_integer(value, path, "tokens");
  shard.tokens_checksum = reader.string(value, path, "tokens_checksum");
  shard.index_checksum = reader.string(value, path, "index_checksum");
  return shard;
}

SplitInfo read_split(const FieldReader& reader, const ordered_json& value, const std::string& path) {
  if (!value.is_object()) reader.fail(path, "is not an object");
  SplitInfo split;
  split.documents = reader.unsigned_integer(value, path, "documents");
  split.tokens = reader.unsigned_integer(value, path, "tokens");
  // Optional: datasets written before it was recorded read as 0, "unknown".
  if (value.contains("text_bytes")) split.text_bytes = reader.unsigned_integer(value, path, "text_bytes");
  const ordered_json& shards = reader.array(value, path, "shards");
  std::uint64_t documents = 0;
  std::uint64_t tokens = 0;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    split.shards.push_back(read_shard(reader, shards[i], path + ".shards[" + std::to_string(i) + "]"));
    documents += split.shards.back().documents;
    tokens += split.shards.back().tokens;
  }
  // The totals are what users see; they must describe the shards that are actually read.
  if (documents != split.documents)
    reader.fail(path + ".documents", "is " + std::to_string(split.documents) + " but the shards hold " +
                                         std::to_string(documents) + " documents");
  if (tokens != split.tokens)
    reader.fail(path + ".tokens", "is " + std::to_string(split.tokens) + " but the shards hold " +
                                      std::to_string(tokens) + " tokens");
  return split;
}

TokenizerIdentity read_tokenizer(const FieldReader& reader, const ordered_json& root) {
  const std::string path = "tokenizer";
  const ordered_json& value = reader.object(root, "", path);
  TokenizerIdentity tokenizer;
  tokenizer.plugin = reader.string(value, path, "plugin");
  tokenizer.vocab_size =
      reader.integer(value, path, "vocab_size", 1, std::numeric_limits<std::int64_t>::max());
  tokenizer.eos_id = static_cast<std::int32_t>(
      reader.integer(value, path, "eos_id", -1, std::numeric_limits<std::int32_t>::max()));
  tokenizer.eos_token = reader.string(value, path, "eos_token");
  tokenizer.fingerprint = reader.string(value, path, "fingerprint");
  return tokenizer;
}

ordered_json load_json(const fs::path& file) {
  if (!fs::exists(file))
    throw DataError(quoted(file) + " does not exist: the folder holds no prepared dataset",
                    "run anvil data prepare to create it");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError("cannot read " + quoted(file));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return ordered_json::parse(text.str());
  } catch (const nlohmann::json::parse_error& error) {
    // nlohmann's messages start with "[json.exception.parse_error.101] ", which says nothing to users.
    const std::string message = error.what();
    const std::size_t cut = message.find("] ");
    throw DataError(quoted(file) + " is not valid JSON: " +
                        (cut == std::string::npos ? message : message.substr(cut + 2)),
                    kPrepareAgainHint);
  }
}

ordered_json shard_json(const ShardInfo& shard) {
  return ordered_json{{"tokens_file", shard.tokens_file},
                      {"index_file", shard.index_file},
                      {"documents", shard.documents},
                      {"tokens", shard.tokens},
                      {"tokens_checksum", shard.tokens_checksum},
                      {"index_checksum", shard.index_checksum}};
}

ordered_json details_object(const std::string& details_json) {
  ordered_json details = ordered_json::parse(details_json.empty() ? "{}" : details_json, nullptr, false);
  ANVIL_CHECK(details.is_object(), "DatasetInfo::details_json must be a JSON object, not: ", details_json);
  return details;
}

std::string shard_name(const std::string& split, std::size_t number, const char* extension) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%05zu", number);
  return split + "-" + digits + extension;
}

template <class T>
void store_tokens(const std::int32_t* ids, std::size_t count, unsigned char* out) {
  for (std::size_t i = 0; i < count; ++i) {
    const T value = static_cast<T>(ids[i]);
    std::memcpy(out + i * sizeof(T), &value, sizeof(T));
  }
}

}  // namespace

std::string_view to_string(TokenType type) { return type == TokenType::uint16 ? "uint16" : "uint32"; }

std::optional<TokenType> parse_token_type(std::string_view name) {
  if (name == "uint16") return TokenType::uint16;
  if (name == "uint32") return TokenType::uint32;
  return std::nullopt;
}

TokenType token_type_for(std::int64_t vocab_size) {
  return vocab_size <= std::int64_t{1} << 16 ? TokenType::uint16 : TokenType::uint32;
}

std::size_t token_bytes(TokenType type) { return type == TokenType::uint16 ? 2 : 4; }

void write_dataset_info(const fs::path& dir, const DatasetInfo& info) {
  ordered_json splits = ordered_json::object();
  for (const auto& [name, split] : info.splits) {
    ordered_json shards = ordered_json::array();
    for (const ShardInfo& shard : split.shards) shards.push_back(shard_json(shard));
    splits[name] = ordered_json{{"documents", split.documents},
                                {"tokens", split.tokens},
                                {"text_bytes", split.text_bytes},
                                {"shards", shards}};
  }
  const ordered_json root{{"format", kFormatName},
                          {"version", info.version},
                          {"created_by", info.created_by},
                          {"token_type", to_string(info.token_type)},
                          {"tokenizer",
                           {{"plugin", info.tokenizer.plugin},
                            {"vocab_size", info.tokenizer.vocab_size},
                            {"eos_id", info.tokenizer.eos_id},
                            {"eos_token", info.tokenizer.eos_token},
                            {"fingerprint", info.tokenizer.fingerprint}}},
                          {"config_fingerprint", info.config_fingerprint},
                          {"splits", splits},
                          {"details", details_object(info.details_json)}};
  const std::string text = root.dump(2) + "\n";

  // A crash mid-write must leave either the old dataset.json or the new one, never half of one.
  const fs::path final_path = dir / kDatasetInfoFile;
  const fs::path temp_path = dir / (std::string(kDatasetInfoFile) + ".tmp");
  DurableFile out(temp_path);
  out.write(text.data(), text.size());
  out.sync_and_close();
  std::error_code error;
  fs::rename(temp_path, final_path, error);
  if (error)
    throw DataError("cannot rename " + quoted(temp_path) + " to " + quoted(final_path) + ": " +
                    error.message());
}

DatasetInfo read_dataset_info(const fs::path& dir) {
  const fs::path file = dir / kDatasetInfoFile;
  const ordered_json root = load_json(file);
  if (!root.is_object()) throw DataError(quoted(file) + " is not a JSON object", kPrepareAgainHint);
  const FieldReader reader(file);

  if (reader.string(root, "", "format") != kFormatName)
    reader.fail("format",
                "is not \"" + std::string(kFormatName) + "\": this is not an Anvil dataset description");
  DatasetInfo info;
  info.version = static_cast<int>(reader.integer(root, "", "version", 0, std::numeric_limits<int>::max()));
  if (info.version == 1)
    throw DataError(quoted(file) + " has dataset format version 1, made by an Anvil before 0.5 that "
                        "encoded special-token text inside documents (\"<|endoftext|>\", \"[CLS]\") as "
                        "special tokens; this Anvil reads version " + std::to_string(kDatasetFormatVersion),
                    "prepare the dataset again with this Anvil (anvil data prepare --force); a run "
                    "trained on it cannot be resumed on the new data");
  if (info.version != kDatasetFormatVersion)
    throw DataError(quoted(file) + " has dataset format version " + std::to_string(info.version) +
                        ", but this Anvil reads version " + std::to_string(kDatasetFormatVersion),
                    "prepare the dataset again with this Anvil, or use the Anvil that prepared it");
  info.created_by = reader.string(root, "", "created_by");
  const std::string token_type = reader.string(root, "", "token_type");
  const std::optional<TokenType> type = parse_token_type(token_type);
  if (!type) reader.fail("token_type", "is \"" + token_type + "\", not \"uint16\" or \"uint32\"");
  info.token_type = *type;
  info.tokenizer = read_tokenizer(reader, root);
  info.config_fingerprint = reader.string(root, "", "config_fingerprint");
  for (const auto& [name, split] : reader.object(root, "", "splits").items())
    info.splits[name] = read_split(reader, split, "splits." + name);
  const auto details = root.find("details");
  if (details != root.end()) {
    if (!details->is_object()) reader.fail("details", "is not an object");
    info.details_json = details->dump(2);
  }
  return info;
}


// --- ShardWriter ---

struct ShardWriter::Impl {
  struct OpenShard {
    ShardInfo info;
    HashedWriter tokens;
    HashedWriter index;
  };

  fs::path dir;
  std::string split;
  TokenType type;
  std::uint64_t shard_tokens;
  SplitInfo result;
  std::unique_ptr<OpenShard> shard;
  bool finished = false;

  void open_shard() {
    const std::size_t number = result.shards.size();
    ShardInfo info;
    info.tokens_file = shard_name(split, number, ".tokens");
    info.index_file = shard_name(split, number, ".index");
    shard.reset(new OpenShard{info, HashedWriter(dir / info.tokens_file, kTokenBufferBytes),
                              HashedWriter(dir / info.index_file, kIndexBufferBytes)});
    append_offset(0);
  }

  void close_shard() {
    shard->info.tokens_checksum = shard->tokens.finish();
    shard->info.index_checksum = shard->index.finish();
    result.shards.push_back(std::move(shard->info));
    shard.reset();
  }

  void append_offset(std::uint64_t offset) { shard->index.append(&offset, sizeof offset); }

  void check_ids(const std::int32_t* ids, std::size_t count) const {
    const std::int64_t max = type == TokenType::uint16 ? 0xFFFF : std::numeric_limits<std::int32_t>::max();
    const std::int32_t* bad =
        std::find_if(ids, ids + count, [max](std::int32_t id) { return id < 0 || id > max; });
    if (bad == ids + count) return;
    throw DataError("token id " + std::to_string(*bad) + " at position " + std::to_string(bad - ids) +
                        " of document " + std::to_string(result.documents) + " of split '" + split +
                        "' does not fit the dataset's token type " + std::string(to_string(type)) + " (0.." +
                        std::to_string(max) + ")",
                    "the tokenizer produced an id outside its vocabulary; check the tokenizer plugin");
  }

  void write_tokens(const std::int32_t* ids, std::size_t count) {
    const std::size_t bytes = token_bytes(type);
    while (count > 0) {
      if (shard->tokens.free_bytes() < bytes) shard->tokens.flush();
      const std::size_t n = std::min(count, shard->tokens.free_bytes() / bytes);
      unsigned char* out = shard->tokens.reserve(n * bytes);
      if (type == TokenType::uint16)
        store_tokens<std::uint16_t>(ids, n, out);
      else
        store_tokens<std::uint32_t>(ids, n, out);
      shard->tokens.commit(n * bytes);
      ids += n;
      count -= n;
    }
  }
};

ShardWriter::ShardWriter(fs::path dir, std::string split, TokenType type, std::uint64_t shard_tokens)
    : impl_(new Impl{std::move(dir), std::move(split), type, shard_tokens, {}, nullptr, false}) {}

ShardWriter::~ShardWriter() = default;

void ShardWriter::add_document(const std::int32_t* ids, std::size_t count) {
  Impl& impl = *impl_;
  ANVIL_CHECK(!impl.finished, "ShardWriter::add_document after finish()");
  // Checked before anything is written, so a rejected document leaves no partial trace.
  impl.check_ids(ids, count);
  if (!impl.shard) impl.open_shard();
  impl.write_tokens(ids, count);
  impl.shard->info.documents += 1;
  impl.shard->info.tokens += count;
  impl.append_offset(impl.shard->info.tokens);
  impl.result.documents += 1;
  impl.result.tokens += count;
  if (impl.shard->info.tokens >= impl.shard_tokens) impl.close_shard();
}

SplitInfo ShardWriter::finish() {
  Impl& impl = *impl_;
  ANVIL_CHECK(!impl.finished, "ShardWriter::finish called twice");
  impl.finished = true;
  if (impl.shard) impl.close_shard();
  return std::move(impl.result);
}

}  // namespace anvil::core
