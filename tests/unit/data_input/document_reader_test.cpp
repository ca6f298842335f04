#include "data/document_reader.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "support/compressed_files.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using anvil::core::DocumentReader;
using anvil::core::DocumentSplit;
using anvil::core::InputFormat;
using anvil::core::ReaderOptions;
using anvil::test::write_gzip;
using anvil::test::write_zstd;

namespace {

struct Doc {
  std::string text;
  std::size_t file_index;
  std::uint64_t line;
  bool operator==(const Doc& other) const {
    return text == other.text && file_index == other.file_index && line == other.line;
  }
};

std::ostream& operator<<(std::ostream& out, const Doc& doc) {
  return out << "{\"" << doc.text << "\", file " << doc.file_index << ", line " << doc.line << "}";
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

ReaderOptions with_split(DocumentSplit split) {
  ReaderOptions options;
  options.split = split;
  return options;
}

std::vector<Doc> read_docs(DocumentReader& reader) {
  std::vector<Doc> docs;
  std::string text;
  anvil::core::DocumentOrigin origin;
  while (reader.next(text, &origin)) docs.push_back({text, origin.file_index, origin.line});
  CHECK_FALSE(reader.next(text));  // the end stays the end
  return docs;
}

std::vector<Doc> read_docs(const std::vector<fs::path>& files, ReaderOptions options) {
  DocumentReader reader(files, std::move(options));
  return read_docs(reader);
}

// The DataError that reading every document throws.
std::pair<std::string, std::string> read_error(const std::vector<fs::path>& files,
                                               ReaderOptions options) {
  try {
    read_docs(files, std::move(options));
  } catch (const anvil::DataError& error) {
    return {error.what(), error.hint()};
  }
  FAIL("no DataError");
  return {};
}

const std::string kText =
    "\n"
    "\n"
    "First paragraph,\n"      // line 3
    "  its second line.\n"
    "   \n"
    "\t\n"
    "Second\r\n"              // line 7
    "in CRLF.\r\n"
    "\r\n"
    "Third, unterminated";    // line 10

}  // namespace

TEST_CASE("Format and split names parse", "[data_input]") {
  CHECK(anvil::core::parse_input_format("auto") == InputFormat::automatic);
  CHECK(anvil::core::parse_input_format("text") == InputFormat::text);
  CHECK(anvil::core::parse_input_format("jsonl") == InputFormat::jsonl);
  CHECK_FALSE(anvil::core::parse_input_format("csv").has_value());
  CHECK_FALSE(anvil::core::parse_input_format("").has_value());
  CHECK(anvil::core::parse_document_split("file") == DocumentSplit::file);
  CHECK(anvil::core::parse_document_split("paragraph") == DocumentSplit::paragraph);
  CHECK(anvil::core::parse_document_split("line") == DocumentSplit::line);
  CHECK_FALSE(anvil::core::parse_document_split("Paragraph").has_value());
}

TEST_CASE("Paragraphs are separated by whitespace-only lines", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  write_bytes(dir.path / "a.txt", kText);
  const std::vector<Doc> expected = {{"First paragraph,\n  its second line.", 0, 3},
                                     {"Second\r\nin CRLF.\r", 0, 7},
                                     {"Third, unterminated", 0, 10}};
  CHECK(read_docs({dir.path / "a.txt"}, with_split(DocumentSplit::paragraph)) == expected);
  CHECK(read_docs({dir.path / "a.txt"}, ReaderOptions{}) == expected);  // the default split
}

TEST_CASE("Line split yields every non-blank line", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  write_bytes(dir.path / "a.txt", kText);
  const std::vector<Doc> expected = {{"First paragraph,", 0, 3},  {"  its second line.", 0, 4},
                                     {"Second\r", 0, 7},          {"in CRLF.\r", 0, 8},
                                     {"Third, unterminated", 0, 10}};
  CHECK(read_docs({dir.path / "a.txt"}, with_split(DocumentSplit::line)) == expected);
}

TEST_CASE("File split yields each whole file, blank files skipped", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  write_bytes(dir.path / "a.txt", kText);
  write_bytes(dir.path / "blank.txt", " \n\t\n");
  write_bytes(dir.path / "empty.txt", "");
  write_bytes(dir.path / "b.txt", "one\n\ntwo\n");
  const std::vector<Doc> expected = {{kText, 0, 1}, {"one\n\ntwo\n", 3, 1}};
  CHECK(read_docs({dir.path / "a.txt", dir.path / "blank.txt", dir.path / "empty.txt",
                   dir.path / "b.txt"},
                  with_split(DocumentSplit::file)) == expected);
}

TEST_CASE("Documents never span files and carry their file index", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  write_bytes(dir.path / "a.txt", "end of a, no newline");
  write_bytes(dir.path / "empty.txt", "");
  write_bytes(dir.path / "b.txt", "\nstart of b\n");
  const std::vector<Doc> expected = {{"end of a, no newline", 0, 1}, {"start of b", 2, 2}};
  CHECK(read_docs({dir.path / "a.txt", dir.path / "empty.txt", dir.path / "b.txt"},
                  ReaderOptions{}) == expected);
}

TEST_CASE("Paragraphs across many read buffers come out whole", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  std::string text;
  std::vector<Doc> expected;
  std::uint64_t line = 1;
  for (int i = 0; text.size() < (5u << 20); ++i) {
    const std::string doc = "doc " + std::to_string(i) + " first line\nand a second line " +
                            std::string(static_cast<std::size_t>(i % 300), 'x');
    expected.push_back({doc, 0, line});
    text += doc + "\n\n";
    line += 3;
  }
  write_bytes(dir.path / "big.txt", text);
  write_gzip(dir.path / "big.txt.gz", text);
  CHECK(read_docs({dir.path / "big.txt"}, ReaderOptions{}) == expected);
  CHECK(read_docs({dir.path / "big.txt.gz"}, ReaderOptions{}) == expected);
}

TEST_CASE("JSONL documents come from a nested field, blank lines skipped", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  write_bytes(dir.path / "a.jsonl",
              "{\"id\": 1, \"meta\": {\"text\": \"first\\nline two\"}}\n"
              "\n"
              "   \n"
              "{\"meta\": {\"text\": \"caf\\u00e9 \\ud83d\\ude00\", \"x\": [1, 2]}}\r\n"
              "{\"meta\": {\"text\": \"  \"}}\n"
              "{\"meta\": {\"text\": \"last, unterminated\"}}");
  ReaderOptions options;
  options.text_field = "meta.text";
  const std::vector<Doc> expected = {{"first\nline two", 0, 1},
                                     {"caf\xc3\xa9 \xf0\x9f\x98\x80", 0, 4},
                                     {"last, unterminated", 0, 6}};
  CHECK(read_docs({dir.path / "a.jsonl"}, options) == expected);
}

TEST_CASE("The format follows the extension unless set", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  const std::string json = "{\"text\": \"hello\"}\n";
  for (const char* name : {"a.jsonl", "b.ndjson", "c.json", "d.JSONL", "e.jsonl.gz"})
    write_bytes(dir.path / name, json);
  write_bytes(dir.path / "f.txt", json);
  const std::vector<Doc> expected = {{"hello", 0, 1}, {"hello", 1, 1}, {"hello", 2, 1},
                                     {"hello", 3, 1}, {"hello", 4, 1}, {json.substr(0, json.size() - 1), 5, 1}};
  CHECK(read_docs({dir.path / "a.jsonl", dir.path / "b.ndjson", dir.path / "c.json",
                   dir.path / "d.JSONL", dir.path / "e.jsonl.gz", dir.path / "f.txt"},
                  ReaderOptions{}) == expected);

  ReaderOptions jsonl;
  jsonl.format = InputFormat::jsonl;
  CHECK(read_docs({dir.path / "f.txt"}, jsonl) == std::vector<Doc>{{"hello", 0, 1}});
  ReaderOptions text;
  text.format = InputFormat::text;
  CHECK(read_docs({dir.path / "a.jsonl"}, text) == std::vector<Doc>{{json.substr(0, json.size() - 1), 0, 1}});
}

TEST_CASE("Compressed JSONL is read by its inner extension", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  const std::string json = "{\"text\": \"one\"}\n\n{\"text\": \"two\"}\n";
  write_gzip(dir.path / "a.jsonl.gz", json);
  write_zstd(dir.path / "b.ndjson.zst", json);
  write_zstd(dir.path / "c.json.zstd", json);
  const std::vector<Doc> expected = {{"one", 0, 1}, {"two", 0, 3}, {"one", 1, 1},
                                     {"two", 1, 3}, {"one", 2, 1}, {"two", 2, 3}};
  CHECK(read_docs({dir.path / "a.jsonl.gz", dir.path / "b.ndjson.zst", dir.path / "c.json.zstd"},
                  ReaderOptions{}) == expected);
}

TEST_CASE("Invalid JSON is an error naming file and line", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  const fs::path file = dir.path / "bad.jsonl";
  write_bytes(file, "{\"text\": \"ok\"}\n\n{\"text\": oops}\n");
  const auto [message, hint] = read_error({file}, ReaderOptions{});
  CHECK_THAT(message, Catch::StartsWith("'" + file.string() + ":3': invalid JSON: "));
  CHECK_THAT(message, !Catch::Contains("json.exception"));
  CHECK(hint == "each non-blank line of a JSON-lines file must be one JSON object; or set [data] "
                "on_bad_record = \"skip\" to skip bad lines and count them");

  write_bytes(file, "[\"text\"]\n");
  CHECK(read_error({file}, ReaderOptions{}).first ==
        "'" + file.string() + ":1': expected a JSON object, found array");
}

TEST_CASE("A missing or non-string text field is an error naming it", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  const fs::path file = dir.path / "fields.jsonl";
  ReaderOptions options;
  options.text_field = "meta.text";

  write_bytes(file, "{\"meta\": {\"text\": \"ok\"}}\n{\"meta\": {\"body\": \"x\"}}\n");
  const auto [message, hint] = read_error({file}, options);
  CHECK(message == "'" + file.string() + ":2': no field 'meta.text' in the JSON object");
  CHECK_THAT(hint, Catch::Contains("text_field"));

  write_bytes(file, "{\"meta\": \"flat\"}\n");
  CHECK(read_error({file}, options).first ==
        "'" + file.string() + ":1': no field 'meta.text' in the JSON object");

  write_bytes(file, "{\"meta\": {\"text\": 42}}\n");
  CHECK(read_error({file}, options).first ==
        "'" + file.string() + ":1': field 'meta.text' is number, not a string");

  write_bytes(file, "{\"meta\": {\"text\": null}}\n");
  CHECK(read_error({file}, options).first ==
        "'" + file.string() + ":1': field 'meta.text' is null, not a string");
}

TEST_CASE("A document over max_document_bytes is an error naming file and line",
          "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  const fs::path file = dir.path / "long.txt";
  write_bytes(file, "short\n\n0123456789\nabc\n\nlast\n");
  const std::string limit = " longer than 12 bytes (max_document_bytes)";

  ReaderOptions paragraph = with_split(DocumentSplit::paragraph);
  paragraph.max_document_bytes = 12;
  const auto [message, hint] = read_error({file}, paragraph);
  CHECK(message == "'" + file.string() + ":3': paragraph" + limit);
  CHECK_THAT(hint, Catch::Contains("paragraph") && Catch::Contains("line") &&
                       Catch::Contains("max_document_bytes"));
  paragraph.max_document_bytes = 14;  // exactly "0123456789\nabc"
  CHECK(read_docs({file}, paragraph).size() == 3);

  ReaderOptions line = with_split(DocumentSplit::line);
  line.max_document_bytes = 9;
  CHECK(read_error({file}, line).first ==
        "'" + file.string() + ":3': line longer than 9 bytes (max_document_bytes)");

  ReaderOptions whole = with_split(DocumentSplit::file);
  whole.max_document_bytes = 12;
  CHECK(read_error({file}, whole).first == "'" + file.string() + ":1': document" + limit);

  const fs::path json = dir.path / "long.jsonl";
  write_bytes(json, "{\"text\": \"fits\"}\n{\"text\": \"0123456789abc\"}\n");
  ReaderOptions jsonl;
  jsonl.max_document_bytes = 12;
  CHECK(read_error({json}, jsonl).first == "'" + json.string() + ":2': text" + limit);
}

TEST_CASE("Progress counts file bytes and decompressed bytes", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "paragraph " + std::to_string(i) + "\n\n";
  write_bytes(dir.path / "a.txt", text);
  write_gzip(dir.path / "b.txt.gz", text);
  write_zstd(dir.path / "c.txt.zst", text);
  const std::vector<fs::path> files = {dir.path / "a.txt", dir.path / "b.txt.gz",
                                       dir.path / "c.txt.zst"};
  const std::uint64_t total =
      fs::file_size(files[0]) + fs::file_size(files[1]) + fs::file_size(files[2]);

  DocumentReader reader(files, ReaderOptions{});
  CHECK(reader.files() == files);
  CHECK(reader.total_file_bytes() == total);
  CHECK(reader.file_bytes_read() == 0);
  CHECK(reader.text_bytes_read() == 0);
  std::string doc;
  REQUIRE(reader.next(doc));
  CHECK(doc == "paragraph 0");
  CHECK(reader.file_bytes_read() > 0);
  const std::vector<Doc> rest = read_docs(reader);
  CHECK(rest.size() == 3 * 20000 - 1);
  CHECK(reader.documents() == 3 * 20000);
  CHECK(reader.file_bytes_read() == total);
  CHECK(reader.text_bytes_read() == 3 * text.size());
}

TEST_CASE("A reader can be moved mid-file", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  write_bytes(dir.path / "a.txt", "one\ntwo\nthree\n");
  DocumentReader first({dir.path / "a.txt"}, with_split(DocumentSplit::line));
  std::string doc;
  REQUIRE(first.next(doc));
  DocumentReader second(std::move(first));
  CHECK(read_docs(second) == std::vector<Doc>{{"two", 0, 2}, {"three", 0, 3}});
  CHECK(second.documents() == 3);
}

TEST_CASE("A missing corpus file is an error naming it", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  const fs::path missing = dir.path / "missing.txt";
  CHECK_THROWS_WITH(DocumentReader({missing}, ReaderOptions{}),
                    Catch::StartsWith("cannot read corpus file '" + missing.string() + "'"));
}

namespace {

struct JsonlRead {
  std::vector<std::pair<std::string, bool>> documents;  // text, invalid_utf8
  anvil::core::BadRecordCounts bad;
};

JsonlRead read_jsonl(const fs::path& file, anvil::core::BadRecordPolicy policy) {
  ReaderOptions options;
  options.on_bad_record = policy;
  DocumentReader reader({file}, options);
  JsonlRead read;
  std::string text;
  anvil::core::DocumentOrigin origin;
  while (reader.next(text, &origin)) read.documents.emplace_back(text, origin.invalid_utf8);
  read.bad = reader.bad_records();
  return read;
}

}  // namespace

TEST_CASE("Invalid UTF-8 in a JSON string is replaced and flagged, not an error", "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  const fs::path file = dir.path / "utf8.jsonl";
  write_bytes(file,
              "{\"text\": \"caf\xff bytes\"}\n"          // a raw invalid byte
              "{\"text\": \"lone \\ud800 high\"}\n"      // unpaired surrogate escapes
              "{\"text\": \"lone \\udc00 low \\ud800\\u0041\"}\n"
              "{\"text\": \"pair \\ud83d\\ude00 ok\"}\n"  // a well-formed pair
              "{\"text\": \"escaped \\\\ud800 is text\"}\n");  // a backslash, then "ud800"
  const JsonlRead read = read_jsonl(file, anvil::core::BadRecordPolicy::error);
  const std::vector<std::pair<std::string, bool>> expected = {
      {"caf\xef\xbf\xbd bytes", true},
      {"lone \xef\xbf\xbd high", true},
      {"lone \xef\xbf\xbd low \xef\xbf\xbd" "A", true},
      {"pair \xf0\x9f\x98\x80 ok", false},
      {"escaped \\ud800 is text", false}};
  CHECK(read.documents == expected);
  CHECK(read.bad.bad() == 0);
}

TEST_CASE("on_bad_record: error counts the bad lines after the first, skip counts each kind",
          "[data_input]") {
  anvil::test::TempDir dir("anvil_docs");
  const fs::path file = dir.path / "bad.jsonl";
  write_bytes(file,
              "{\"text\": \"one\"}\n"
              "{\"text\": \"cut\n"        // 2: truncated
              "{\"text\": 42}\n"           // 3: not a string
              "{\"text\": null}\n"         // 4: not a string
              "[1, 2]\n"                    // 5: not an object
              "{\"body\": \"x\"}\n"        // 6: no field
              "{\"text\": \"\"}\n"          // 7: empty text
              "{\"text\": \" \\n \"}\n"     // 8: blank text
              "{\"text\": \"two\"}\n");
  const auto [message, hint] = read_error({file}, ReaderOptions{});
  CHECK_THAT(message, Catch::StartsWith("'" + file.string() + ":2': invalid JSON: "));
  CHECK_THAT(message, Catch::EndsWith(" (and 4 more bad lines in this file)"));
  CHECK_THAT(hint, Catch::Contains("on_bad_record = \"skip\""));

  const JsonlRead read = read_jsonl(file, anvil::core::BadRecordPolicy::skip);
  CHECK(read.documents == std::vector<std::pair<std::string, bool>>{{"one", false}, {"two", false}});
  using anvil::core::BadRecord;
  CHECK(read.bad.by_kind[static_cast<std::size_t>(BadRecord::invalid_json)] == 1);
  CHECK(read.bad.by_kind[static_cast<std::size_t>(BadRecord::not_a_string)] == 2);
  CHECK(read.bad.by_kind[static_cast<std::size_t>(BadRecord::not_an_object)] == 1);
  CHECK(read.bad.by_kind[static_cast<std::size_t>(BadRecord::missing_field)] == 1);
  CHECK(read.bad.empty_texts == 2);
  REQUIRE(read.bad.examples.size() == 5);
  CHECK(read.bad.examples[1] == "'" + file.string() + ":3': field 'text' is number, not a string");
  CHECK(read.bad.examples[4] == "'" + file.string() + ":6': no field 'text' in the JSON object");
}
