// print_diagnostics: headline, source line with caret, hints, ordering, overrides, and lines
// with tabs or non-ASCII text.

#include "manifest/diagnostic_printer.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using anvil::Diagnostic;
using anvil::core::format_diagnostic_headline;
using anvil::core::print_diagnostics;
namespace fs = std::filesystem;

namespace {

Diagnostic make(std::string file,
                std::uint32_t line,
                std::uint32_t column,
                std::string key,
                std::string message,
                std::string hint = {}) {
  Diagnostic d;
  d.file = std::move(file);
  d.line = line;
  d.column = column;
  d.key = std::move(key);
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::string print(const std::vector<Diagnostic>& diagnostics) {
  std::ostringstream out;
  print_diagnostics(out, diagnostics);
  return out.str();
}

// A scratch file that is removed again.
struct TempFile {
  explicit TempFile(const std::string& text)
      : path(fs::temp_directory_path() / "anvil_printer_test.toml") {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { fs::remove(path); }
  fs::path path;
};

}  // namespace

TEST_CASE("headlines", "[manifest][printer]") {
  CHECK(format_diagnostic_headline(make("a.toml", 3, 7, "training.steps", "bad")) ==
        "a.toml:3:7: error: training.steps: bad");
  CHECK(format_diagnostic_headline(make("a.toml", 0, 0, "", "bad")) == "a.toml: error: bad");
  CHECK(format_diagnostic_headline(make("", 0, 0, "k", "bad")) == "error: k: bad");
  CHECK(format_diagnostic_headline(make("--set a.b=x", 1, 5, "a.b", "bad")) ==
        "--set a.b=x: error: a.b: bad");
}

TEST_CASE("source line, caret under the token, hint", "[manifest][printer]") {
  TempFile file("[optimizer]\nlr = \"fast\"   # comment\nbetas = [0.9, [1, 2]] \n[model]\r\n");
  const std::string name = file.path.string();
  CHECK(
      print({make(name, 2, 6, "optimizer.lr", "expected float, got string \"fast\"", "a hint")}) ==
      name +
          ":2:6: error: optimizer.lr: expected float, got string \"fast\"\n"
          "    2 | lr = \"fast\"   # comment\n"
          "      |      ^~~~~~\n"
          "HINT: a hint\n");
  CHECK(print({make(name, 3, 9, "optimizer.betas", "m")}) == name +
                                                                 ":3:9: error: optimizer.betas: m\n"
                                                                 "    3 | betas = [0.9, [1, 2]] \n"
                                                                 "      |         ^~~~~~~~~~~~~\n");
  CHECK(print({make(name, 3, 10, "optimizer.betas[0]", "m")}) ==
        name +
            ":3:10: error: optimizer.betas[0]: m\n"
            "    3 | betas = [0.9, [1, 2]] \n"
            "      |          ^~~\n");
  // Windows line endings are not shown; a table header is underlined whole.
  CHECK(print({make(name, 4, 1, "model.vocab_size", "m")}) ==
        name +
            ":4:1: error: model.vocab_size: m\n"
            "    4 | [model]\n"
            "      | ^~~~~~~\n");
  // A line past the end of the file, or an unreadable file: headline only.
  CHECK(print({make(name, 40, 1, "", "m")}) == name + ":40:1: error: m\n");
  CHECK(print({make("no/such/file.toml", 1, 1, "", "m")}) == "no/such/file.toml:1:1: error: m\n");
}

TEST_CASE("tabs and multi-byte characters keep the caret aligned", "[manifest][printer]") {
  TempFile file("\tname = \"héllo\" # é\n\"é\" = 1\n");
  const std::string name = file.path.string();
  CHECK(print({make(name, 1, 9, "run.name", "m")}) == name +
                                                          ":1:9: error: run.name: m\n"
                                                          "    1 | \tname = \"héllo\" # é\n"
                                                          "      | \t       ^~~~~~~\n");
  // Columns count code points: the value after "é" = is at column 7.
  CHECK(print({make(name, 2, 7, "x", "m")}) == name +
                                                   ":2:7: error: x: m\n"
                                                   "    2 | \"é\" = 1\n"
                                                   "      |       ^\n");
}

TEST_CASE("override diagnostics show the override text", "[manifest][printer]") {
  CHECK(print({make("--set training.steps=abc", 1, 16, "training.steps", "expected integer")}) ==
        "--set training.steps=abc: error: training.steps: expected integer\n"
        "      | training.steps=abc\n"
        "      |                ^~~\n");
}

TEST_CASE("diagnostics are printed by file, line and column", "[manifest][printer]") {
  const std::string out =
      print({make("b.toml", 1, 1, "", "third"), make("a.toml", 9, 1, "", "second"),
             make("a.toml", 2, 5, "", "first"), make("--set x=1", 1, 3, "", "zeroth")});
  CHECK(out ==
        "--set x=1: error: zeroth\n"
        "      | x=1\n"
        "      |   ^\n"
        "a.toml:2:5: error: first\n"
        "a.toml:9:1: error: second\n"
        "b.toml:1:1: error: third\n");
}
