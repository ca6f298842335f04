#pragma once
// A corpus as a stream of documents: text files split into documents (whole file, paragraphs
// or lines), or JSON-lines files with the text in one field; any of them gzip- or
// zstd-compressed. Memory is bounded by the largest document, whatever the corpus size.

#include "data/byte_stream.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::core {

enum class InputFormat {
  automatic,  ///< by extension, after any .gz/.zst/.zstd: .jsonl, .ndjson or .json is jsonl
  text,
  jsonl,
};

/// How a text file is cut into documents.
enum class DocumentSplit {
  file,       ///< the whole file is one document
  paragraph,  ///< documents are separated by one or more blank (whitespace-only) lines
  line,       ///< every non-blank line is a document
};

/// What happens to a JSON line that holds no usable text (bad JSON, not an object, the text
/// field missing or not a string).
enum class BadRecordPolicy {
  error,  ///< stop at the first, naming it and counting the bad lines after it in that file
  skip,   ///< skip it, counted by kind (BadRecordCounts)
};

/// Parses "auto"/"text"/"jsonl", "file"/"paragraph"/"line" and "error"/"skip"; nullopt for
/// anything else.
std::optional<InputFormat> parse_input_format(std::string_view name);
std::optional<DocumentSplit> parse_document_split(std::string_view name);
std::optional<BadRecordPolicy> parse_bad_record_policy(std::string_view name);

/// Why a JSON line yields no document.
enum class BadRecord : std::uint8_t {
  invalid_json,   ///< not JSON at all (a truncated line, say)
  not_an_object,  ///< JSON, but not an object
  missing_field,  ///< no text field
  not_a_string,   ///< a text field that is a number, null, an array, ...
};
constexpr std::size_t kBadRecordKinds = 4;

/// "invalid JSON", "not a JSON object", "missing text field", "non-string text field".
std::string_view to_string(BadRecord kind);

/// The JSON lines a reader skipped, and the empty texts it found.
struct BadRecordCounts {
  static constexpr std::size_t kExamples = 5;
  std::array<std::uint64_t, kBadRecordKinds> by_kind{};  ///< indexed by BadRecord
  /// JSON texts that are empty or whitespace only: no document, but counted.
  std::uint64_t empty_texts = 0;
  /// "'file:line': message" of the first kExamples bad lines.
  std::vector<std::string> examples;
  std::uint64_t bad() const noexcept;
  void add(const BadRecordCounts& other);
};

struct ReaderOptions {
  InputFormat format = InputFormat::automatic;
  DocumentSplit split = DocumentSplit::paragraph;
  /// Field of each JSON object holding the text; a dotted name ("meta.text") walks into
  /// nested objects.
  std::string text_field = "text";
  /// A longer document is an error naming the file and line (it bounds memory; a whole-file
  /// document of a huge file should be split by paragraph or line instead).
  std::size_t max_document_bytes = std::size_t{64} << 20;
  BadRecordPolicy on_bad_record = BadRecordPolicy::error;
};

/// Where a document came from, for error messages and statistics.
struct DocumentOrigin {
  std::size_t file_index = 0;  ///< index into the reader's file list
  std::uint64_t line = 0;      ///< 1-based line where the document starts
  /// The reader replaced invalid UTF-8 in it with U+FFFD: raw invalid bytes or an unpaired
  /// surrogate escape ("\ud800") in a JSON string, which the JSON parser would refuse. The
  /// cleaner then applies invalid_utf8 (repair or drop) as to any document.
  bool invalid_utf8 = false;
};

/// Reads documents from `files` one after another, in order.
///
/// Text documents keep their inner line breaks; a paragraph or line document has no trailing
/// line break, and "\r\n" is left for the cleaner. Blank documents are skipped (not yielded).
/// A JSONL line that is blank is skipped, and so is an empty or blank text (counted in
/// bad_records().empty_texts); one that is not JSON, not a JSON object, or whose field is
/// missing or not a string is a bad record: a DataError naming file:line and the field, or
/// skipped and counted (on_bad_record). Text bytes of text files are passed through unchanged
/// (invalid UTF-8 included: repairing it is the cleaner's job); in a JSON line they are made
/// valid first (DocumentOrigin::invalid_utf8).
class DocumentReader {
 public:
  DocumentReader(std::vector<std::filesystem::path> files, ReaderOptions options);
  ~DocumentReader();
  DocumentReader(DocumentReader&&) noexcept;

  /// Stores the next document in `text` (and where it started in `origin`, if given) and
  /// returns true; false at the end of the last file.
  bool next(std::string& text, DocumentOrigin* origin = nullptr);

  const std::vector<std::filesystem::path>& files() const noexcept { return files_; }
  /// Sum of the files' sizes on disk.
  std::uint64_t total_file_bytes() const noexcept { return total_file_bytes_; }
  /// File bytes consumed so far (compressed bytes for compressed files): progress.
  std::uint64_t file_bytes_read() const noexcept;
  /// Decompressed bytes consumed so far.
  std::uint64_t text_bytes_read() const noexcept { return text_bytes_read_; }
  /// Documents returned so far.
  std::uint64_t documents() const noexcept { return documents_; }
  /// JSON lines skipped so far (on_bad_record = skip) and empty texts.
  const BadRecordCounts& bad_records() const noexcept { return bad_records_; }

 private:
  bool open_next_file();
  bool read_line(std::string& line);  // next line of the current file without '\n'
  bool next_text(std::string& text, DocumentOrigin* origin);
  bool read_whole_file(std::string& text);  // split = file
  bool read_paragraph(std::string& text, DocumentOrigin* origin);
  bool next_jsonl(std::string& text, DocumentOrigin* origin);
  [[noreturn]] void throw_bad_record(const std::string& message, const std::string& hint);

  std::vector<std::filesystem::path> files_;
  ReaderOptions options_;
  std::uint64_t total_file_bytes_ = 0;
  std::uint64_t finished_file_bytes_ = 0;  // file bytes of files already closed
  std::uint64_t text_bytes_read_ = 0;
  std::uint64_t documents_ = 0;
  std::size_t next_file_ = 0;
  std::unique_ptr<ByteStream> stream_;
  InputFormat current_format_ = InputFormat::text;
  std::string buffer_;            // decompressed bytes not yet consumed
  std::size_t buffer_pos_ = 0;
  bool stream_done_ = false;
  std::uint64_t line_number_ = 0;  // lines consumed in the current file
  BadRecordCounts bad_records_;
};

}  // namespace anvil::core
