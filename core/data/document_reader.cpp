#include "data/document_reader.h"

#include "data/cleaner.h"

#include <anvil/errors.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <system_error>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

// Decompressed bytes are taken from the stream this many at a time.
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

// A JSON line is longer than the text it holds: escapes take up to 6 bytes for 2 ("\u00e9") or
// 12 for 4 (an emoji's surrogate pair), and other fields come along. Its bound is therefore a
// multiple of max_document_bytes plus room for metadata.
constexpr std::size_t kJsonLineExpansion = 4;
constexpr std::size_t kJsonLineMetadataBytes = std::size_t{64} << 10;

const char* const kTooLongHint =
    "split the corpus into smaller documents (split = \"paragraph\" or \"line\" for text "
    "files), or raise max_document_bytes";

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  });
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

InputFormat format_of(const fs::path& file) {
  fs::path name = file.filename();
  const std::string outer = lower(name.extension().string());
  if (outer == ".gz" || outer == ".zst" || outer == ".zstd") name = name.stem();
  const std::string inner = lower(name.extension().string());
  return inner == ".jsonl" || inner == ".ndjson" || inner == ".json" ? InputFormat::jsonl
                                                                      : InputFormat::text;
}

std::string location(const fs::path& file, std::uint64_t line) {
  return "'" + file.string() + ":" + std::to_string(line) + "'";
}

std::size_t saturating_line_limit(std::size_t max_document_bytes) {
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  if (max_document_bytes > (kMax - kJsonLineMetadataBytes) / kJsonLineExpansion) return kMax;
  return max_document_bytes * kJsonLineExpansion + kJsonLineMetadataBytes;
}

[[noreturn]] void throw_too_long(const fs::path& file, std::uint64_t line, std::size_t limit,
                                 const char* what) {
  throw DataError(location(file, line) + ": " + what + " longer than " + std::to_string(limit) +
                      " bytes (max_document_bytes)",
                  kTooLongHint);
}

// Fills `buffer` with up to kChunkBytes from `stream`, fewer only at its end; returns the count.
std::size_t fill(ByteStream& stream, std::string& buffer) {
  buffer.resize(kChunkBytes);
  std::size_t count = 0;
  while (count < buffer.size()) {
    const std::size_t got = stream.read(buffer.data() + count, buffer.size() - count);
    if (got == 0) break;
    count += got;
  }
  buffer.resize(count);
  return count;
}

// nlohmann's messages start with an internal id ("[json.exception.parse_error.101] ").
std::string without_exception_id(const std::string& message) {
  const std::size_t end = message.rfind("] ", message.find(' '));
  return !message.empty() && message.front() == '[' && end != std::string::npos
             ? message.substr(end + 2)
             : message;
}

// Makes a JSON line acceptable to the parser, which requires valid UTF-8: invalid byte
// sequences become U+FFFD, and so do escapes of unpaired surrogates ("\ud800" alone), as
// "\ufffd" (the same length, so in place). True when anything changed.
bool make_parsable(std::string& line) {
  bool changed = repair_invalid_utf8(line);
  const auto unit_at = [&](std::size_t i) -> int {  // the code unit of "\uXXXX" at i, or -1
    if (i + 6 > line.size() || line[i] != '\\' || line[i + 1] != 'u') return -1;
    int unit = 0;
    for (std::size_t k = i + 2; k < i + 6; ++k) {
      const char c = line[k];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return -1;
      unit = unit * 16 + digit;
    }
    return unit;
  };
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    if (line[i] != '\\') continue;
    const int unit = unit_at(i);
    if (unit < 0) {
      ++i;  // another escape: its second character is not the start of one
      continue;
    }
    const bool high = unit >= 0xD800 && unit <= 0xDBFF, low = unit >= 0xDC00 && unit <= 0xDFFF;
    const int next = high ? unit_at(i + 6) : -1;
    if (high && next >= 0xDC00 && next <= 0xDFFF) {
      i += 11;  // a well-formed pair
      continue;
    }
    if (high || low) {
      line.replace(i, 6, "\\ufffd");
      changed = true;
    }
    i += 5;
  }
  return changed;
}

// The value at the dotted path `field` ("meta.text"), or nullptr when it is not there.
nlohmann::json* find_field(nlohmann::json& root, const std::string& field) {
  nlohmann::json* node = &root;
  std::size_t begin = 0;
  while (true) {
    const std::size_t dot = field.find('.', begin);
    if (!node->is_object()) return nullptr;
    const auto it = node->find(field.substr(begin, dot - begin));
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) return node;
    begin = dot + 1;
  }
}

// What is wrong with a JSON line, if anything.
struct BadLine {
  BadRecord kind;
  std::string message;  // without the location
  std::string hint;
};

const char* const kJsonLineHint = "each non-blank line of a JSON-lines file must be one JSON object";

// Moves the text field of the JSON object on `line` into `text`; `invalid_utf8` tells whether
// the line had to be made parsable first. The line may be changed.
std::optional<BadLine> extract_text(std::string& line, const std::string& field, std::string& text,
                                    bool& invalid_utf8) {
  nlohmann::json root = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  // Made parsable only after a failure, so valid lines pay nothing for the check.
  invalid_utf8 = root.is_discarded() && make_parsable(line);
  if (root.is_discarded()) {
    try {
      root = nlohmann::json::parse(line);  // again, for the parser's own message when it still fails
    } catch (const nlohmann::json::parse_error& error) {
      return BadLine{BadRecord::invalid_json, "invalid JSON: " + without_exception_id(error.what()),
                     kJsonLineHint};
    }
  }
  if (!root.is_object())
    return BadLine{BadRecord::not_an_object,
                   std::string("expected a JSON object, found ") + root.type_name(), kJsonLineHint};
  nlohmann::json* value = find_field(root, field);
  if (!value)
    return BadLine{BadRecord::missing_field, "no field '" + field + "' in the JSON object",
                   "set text_field to the field holding the text; a dotted name such as "
                   "\"meta.text\" reaches into nested objects"};
  if (!value->is_string())
    return BadLine{BadRecord::not_a_string,
                   "field '" + field + "' is " + value->type_name() + ", not a string", ""};
  text = std::move(value->get_ref<std::string&>());
  return std::nullopt;
}

}  // namespace

std::optional<InputFormat> parse_input_format(std::string_view name) {
  if (name == "auto") return InputFormat::automatic;
  if (name == "text") return InputFormat::text;
  if (name == "jsonl") return InputFormat::jsonl;
  return std::nullopt;
}

std::optional<DocumentSplit> parse_document_split(std::string_view name) {
  if (name == "file") return DocumentSplit::file;
  if (name == "paragraph") return DocumentSplit::paragraph;
  if (name == "line") return DocumentSplit::line;
  return std::nullopt;
}

std::optional<BadRecordPolicy> parse_bad_record_policy(std::string_view name) {
  if (name == "error") return BadRecordPolicy::error;
  if (name == "skip") return BadRecordPolicy::skip;
  return std::nullopt;
}

DocumentReader::DocumentReader(std::vector<fs::path> files, ReaderOptions options)
    : files_(std::move(files)), options_(std::move(options)) {
  for (const fs::path& file : files_) {
    std::error_code error;
    const auto size = fs::file_size(file, error);
    if (error)
      throw DataError("cannot read corpus file '" + file.string() + "': " + error.message(),
                      "check the path (a relative path in a manifest is relative to the file "
                      "that sets it)");
    total_file_bytes_ += size;
  }
}

DocumentReader::~DocumentReader() = default;
DocumentReader::DocumentReader(DocumentReader&&) noexcept = default;

std::uint64_t DocumentReader::file_bytes_read() const noexcept {
  return finished_file_bytes_ + (stream_ ? stream_->file_bytes_read() : 0);
}

bool DocumentReader::next(std::string& text, DocumentOrigin* origin) {
  if (origin) origin->invalid_utf8 = false;
  while (stream_ || open_next_file()) {
    const bool found = current_format_ == InputFormat::jsonl ? next_jsonl(text, origin)
                                                             : next_text(text, origin);
    if (found) {
      ++documents_;
      if (origin) origin->file_index = next_file_ - 1;
      return true;
    }
    finished_file_bytes_ += stream_->file_bytes_read();
    stream_.reset();
  }
  text.clear();
  return false;
}

bool DocumentReader::open_next_file() {
  if (next_file_ >= files_.size()) return false;
  const fs::path& file = files_[next_file_++];
  stream_ = ByteStream::open(file);
  current_format_ = options_.format == InputFormat::automatic ? format_of(file) : options_.format;
  buffer_.clear();
  buffer_pos_ = 0;
  stream_done_ = false;
  line_number_ = 0;
  return true;
}

bool DocumentReader::read_line(std::string& line) {
  line.clear();
  const std::size_t limit = current_format_ == InputFormat::jsonl
                                ? saturating_line_limit(options_.max_document_bytes)
                                : options_.max_document_bytes;
  bool started = false;
  while (true) {
    if (buffer_pos_ == buffer_.size()) {
      if (stream_done_) break;
      const std::size_t count = fill(*stream_, buffer_);
      buffer_pos_ = 0;
      text_bytes_read_ += count;
      stream_done_ = count < kChunkBytes;
      if (count == 0) break;
    }
    started = true;
    const char* begin = buffer_.data() + buffer_pos_;
    const std::size_t available = buffer_.size() - buffer_pos_;
    const auto* newline = static_cast<const char*>(std::memchr(begin, '\n', available));
    const std::size_t length = newline ? static_cast<std::size_t>(newline - begin) : available;
    if (line.size() + length > limit)
      throw_too_long(stream_->path(), line_number_ + 1, limit,
                     current_format_ == InputFormat::jsonl ? "JSON line" : "line");
    line.append(begin, length);
    buffer_pos_ += length;
    if (newline) {
      ++buffer_pos_;
      ++line_number_;
      return true;
    }
  }
  if (started) ++line_number_;  // a last line without '\n'
  return started;
}

bool DocumentReader::next_text(std::string& text, DocumentOrigin* origin) {
  switch (options_.split) {
    case DocumentSplit::file:
      if (!read_whole_file(text)) return false;
      if (origin) origin->line = 1;
      return true;
    case DocumentSplit::paragraph:
      return read_paragraph(text, origin);
    case DocumentSplit::line:
      break;
  }
  while (read_line(text)) {
    if (is_blank(text)) continue;
    if (origin) origin->line = line_number_;
    return true;
  }
  return false;
}

bool DocumentReader::read_whole_file(std::string& text) {
  if (stream_done_) return false;
  text.clear();
  while (!stream_done_) {
    const std::size_t count = fill(*stream_, buffer_);
    text_bytes_read_ += count;
    stream_done_ = count < kChunkBytes;
    if (text.size() + count > options_.max_document_bytes)
      throw_too_long(stream_->path(), 1, options_.max_document_bytes, "document");
    text += buffer_;
  }
  buffer_.clear();
  return !is_blank(text);
}

bool DocumentReader::read_paragraph(std::string& text, DocumentOrigin* origin) {
  std::string line;
  bool found = false;
  while ((found = read_line(line)) && is_blank(line)) {
  }
  if (!found) return false;
  const std::uint64_t start = line_number_;
  text.swap(line);
  while (read_line(line) && !is_blank(line)) {
    if (text.size() + 1 + line.size() > options_.max_document_bytes)
      throw_too_long(stream_->path(), start, options_.max_document_bytes, "paragraph");
    text += '\n';
    text += line;
  }
  if (origin) origin->line = start;
  return true;
}

bool DocumentReader::next_jsonl(std::string& text, DocumentOrigin* origin) {
  std::string line;
  bool invalid_utf8 = false;
  while (read_line(line)) {
    if (is_blank(line)) continue;
    if (std::optional<BadLine> bad = extract_text(line, options_.text_field, text, invalid_utf8)) {
      const std::string where = location(stream_->path(), line_number_) + ": ";
      if (options_.on_bad_record == BadRecordPolicy::error)
        throw_bad_record(where + bad->message, bad->hint);
      ++bad_records_.by_kind[static_cast<std::size_t>(bad->kind)];
      if (bad_records_.examples.size() < BadRecordCounts::kExamples)
        bad_records_.examples.push_back(where + bad->message);
      continue;
    }
    if (text.size() > options_.max_document_bytes)
      throw_too_long(stream_->path(), line_number_, options_.max_document_bytes, "text");
    if (is_blank(text)) {
      ++bad_records_.empty_texts;
      continue;
    }
    if (origin) {
      origin->line = line_number_;
      origin->invalid_utf8 = invalid_utf8;
    }
    return true;
  }
  return false;
}

void DocumentReader::throw_bad_record(const std::string& message, const std::string& hint) {
  // One message should tell how much of the file is bad, not one line per run.
  std::uint64_t more = 0;
  std::string line, text;
  bool invalid_utf8 = false;
  while (read_line(line))
    if (!is_blank(line) && extract_text(line, options_.text_field, text, invalid_utf8)) ++more;
  const std::string skip_hint =
      "set [data] on_bad_record = \"skip\" to skip bad lines and count them";
  throw DataError(message + (more == 0 ? std::string()
                                       : " (and " + std::to_string(more) + " more bad line" +
                                             (more == 1 ? "" : "s") + " in this file)"),
                  hint.empty() ? skip_hint : hint + "; or " + skip_hint);
}

std::string_view to_string(BadRecord kind) {
  switch (kind) {
    case BadRecord::invalid_json: return "invalid JSON";
    case BadRecord::not_an_object: return "not a JSON object";
    case BadRecord::missing_field: return "missing text field";
    case BadRecord::not_a_string: return "non-string text field";
  }
  return "unknown";
}

std::uint64_t BadRecordCounts::bad() const noexcept {
  std::uint64_t total = 0;
  for (const std::uint64_t count : by_kind) total += count;
  return total;
}

void BadRecordCounts::add(const BadRecordCounts& other) {
  for (std::size_t i = 0; i < kBadRecordKinds; ++i) by_kind[i] += other.by_kind[i];
  empty_texts += other.empty_texts;
  for (const std::string& example : other.examples)
    if (examples.size() < kExamples) examples.push_back(example);
}

}  // namespace anvil::core
