#pragma once
// A corpus as a stream of documents: text files split into documents (whole file, paragraphs
// or lines), or JSON-lines files with the text in one field; any of them gzip- or
// zstd-compressed. Memory is bounded by the largest document, whatever the corpus size.

#include "data/byte_stream.h"

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

/// Parses "auto"/"text"/"jsonl" and "file"/"paragraph"/"line"; nullopt for anything else.
std::optional<InputFormat> parse_input_format(std::string_view name);
std::optional<DocumentSplit> parse_document_split(std::string_view name);

struct ReaderOptions {
  InputFormat format = InputFormat::automatic;
  DocumentSplit split = DocumentSplit::paragraph;
  /// Field of each JSON object holding the text; a dotted name ("meta.text") walks into
  /// nested objects.
  std::string text_field = "text";
  /// A longer document is an error naming the file and line (it bounds memory; a whole-file
  /// document of a huge file should be split by paragraph or line instead).
  std::size_t max_document_bytes = std::size_t{64} << 20;
};

/// Where a document came from, for error messages and statistics.
struct DocumentOrigin {
  std::size_t file_index = 0;  ///< index into the reader's file list
  std::uint64_t line = 0;      ///< 1-based line where the document starts
};

/// Reads documents from `files` one after another, in order.
///
/// Text documents keep their inner line breaks; a paragraph or line document has no trailing
/// line break, and "\r\n" is left for the cleaner. Blank documents are skipped (not yielded).
/// A JSONL line that is blank is skipped; one that is not a JSON object, or whose field is
/// missing or not a string, is a DataError naming file:line and the field. Text bytes are
/// passed through unchanged (invalid UTF-8 included: repairing it is the cleaner's job).
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

 private:
  bool open_next_file();
  bool read_line(std::string& line);  // next line of the current file without '\n'
  bool next_text(std::string& text, DocumentOrigin* origin);
  bool read_whole_file(std::string& text);  // split = file
  bool read_paragraph(std::string& text, DocumentOrigin* origin);
  bool next_jsonl(std::string& text, DocumentOrigin* origin);

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
};

}  // namespace anvil::core
