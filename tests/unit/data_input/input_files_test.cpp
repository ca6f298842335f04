#include "data/input_files.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <fstream>

#include "support/temp_dir.h"

namespace fs = std::filesystem;
using anvil::core::expand_inputs;
using anvil::core::glob_match;

namespace {

void touch(const fs::path& file) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "x\n";
}

// A corpus folder with visible files at several depths, and hidden ones that must be skipped.
fs::path make_corpus(const fs::path& root) {
  const fs::path corpus = root / "corpus";
  for (const char* name : {"b.txt", "a.txt", "notes.md", "sub/c.txt", "sub/deep/d.txt",
                           "sub2/e.jsonl", ".hidden.txt", ".git/config.txt", "sub/.cache/f.txt"})
    touch(corpus / name);
  return corpus;
}

// Restores the working directory when a test that changes it ends.
struct CurrentPathGuard {
  fs::path saved = fs::current_path();
  ~CurrentPathGuard() { fs::current_path(saved); }
};

}  // namespace

TEST_CASE("glob_match handles stars, question marks and character classes", "[data_input]") {
  CHECK(glob_match("*", "anything.txt"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("*.txt", "a.txt"));
  CHECK_FALSE(glob_match("*.txt", "a.txt.gz"));
  CHECK(glob_match("*.txt*", "a.txt.gz"));
  CHECK(glob_match("a*b*c", "aXXbYYbZc"));
  CHECK_FALSE(glob_match("a*b*c", "aXXbYYbZ"));
  CHECK(glob_match("part-?????.jsonl", "part-00012.jsonl"));
  CHECK_FALSE(glob_match("part-?????.jsonl", "part-0012.jsonl"));
  CHECK(glob_match("[abc].txt", "b.txt"));
  CHECK_FALSE(glob_match("[abc].txt", "d.txt"));
  CHECK(glob_match("file[0-9].txt", "file7.txt"));
  CHECK_FALSE(glob_match("file[0-9].txt", "fileA.txt"));
  CHECK(glob_match("[!a]*", "b"));
  CHECK_FALSE(glob_match("[!a]*", "abc"));
  CHECK(glob_match("[]x]", "]"));
  CHECK(glob_match("[a-]", "-"));
  CHECK(glob_match("[ab", "[ab"));  // no closing bracket: literal characters
  CHECK_FALSE(glob_match("abc", "abcd"));
  CHECK_FALSE(glob_match("abcd", "abc"));
  CHECK(glob_match("", ""));
}

TEST_CASE("A folder expands to its files recursively, sorted, hidden names skipped",
          "[data_input]") {
  anvil::test::TempDir dir("anvil_inputs");
  const fs::path corpus = make_corpus(dir.path);
  const std::vector<fs::path> expected = {corpus / "a.txt", corpus / "b.txt",
                                          corpus / "notes.md", corpus / "sub/c.txt",
                                          corpus / "sub/deep/d.txt", corpus / "sub2/e.jsonl"};
  CHECK(expand_inputs({corpus}) == expected);
}

TEST_CASE("Entries keep their order and a file reached twice stays at its first place",
          "[data_input]") {
  anvil::test::TempDir dir("anvil_inputs");
  const fs::path corpus = make_corpus(dir.path);
  const std::vector<fs::path> expected = {corpus / "sub/deep/d.txt", corpus / "a.txt",
                                          corpus / "b.txt", corpus / "notes.md",
                                          corpus / "sub/c.txt", corpus / "sub2/e.jsonl"};
  CHECK(expand_inputs({corpus / "sub/deep/d.txt", corpus, corpus / "./a.txt"}) == expected);
}

TEST_CASE("A hidden file named explicitly is taken", "[data_input]") {
  anvil::test::TempDir dir("anvil_inputs");
  const fs::path corpus = make_corpus(dir.path);
  CHECK(expand_inputs({corpus / ".hidden.txt"}) == std::vector<fs::path>{corpus / ".hidden.txt"});
  CHECK(expand_inputs({corpus / ".*.txt"}) == std::vector<fs::path>{corpus / ".hidden.txt"});
}

TEST_CASE("A star glob matches within one folder level only", "[data_input]") {
  anvil::test::TempDir dir("anvil_inputs");
  const fs::path corpus = make_corpus(dir.path);
  CHECK(expand_inputs({corpus / "*.txt"}) ==
        std::vector<fs::path>{corpus / "a.txt", corpus / "b.txt"});
  CHECK(expand_inputs({corpus / "*/*.txt"}) == std::vector<fs::path>{corpus / "sub/c.txt"});
  CHECK(expand_inputs({corpus / "su?2/*"}) == std::vector<fs::path>{corpus / "sub2/e.jsonl"});
  CHECK(expand_inputs({corpus / "[ab].txt"}) ==
        std::vector<fs::path>{corpus / "a.txt", corpus / "b.txt"});
}

TEST_CASE("A double-star component matches any number of folders", "[data_input]") {
  anvil::test::TempDir dir("anvil_inputs");
  const fs::path corpus = make_corpus(dir.path);
  CHECK(expand_inputs({corpus / "**/*.txt"}) ==
        std::vector<fs::path>{corpus / "a.txt", corpus / "b.txt", corpus / "sub/c.txt",
                              corpus / "sub/deep/d.txt"});
  CHECK(expand_inputs({corpus / "**/deep/*"}) ==
        std::vector<fs::path>{corpus / "sub/deep/d.txt"});
  CHECK(expand_inputs({corpus / "sub/**"}) ==
        std::vector<fs::path>{corpus / "sub/c.txt", corpus / "sub/deep/d.txt"});
}

TEST_CASE("A relative glob gives relative paths", "[data_input]") {
  anvil::test::TempDir dir("anvil_inputs");
  make_corpus(dir.path);
  CurrentPathGuard guard;
  fs::current_path(dir.path);
  CHECK(expand_inputs({"corpus/*.md", "corpus/**/c.txt"}) ==
        std::vector<fs::path>{"corpus/notes.md", "corpus/sub/c.txt"});
  fs::current_path(dir.path / "corpus");
  CHECK(expand_inputs({"*.txt"}) == std::vector<fs::path>{"a.txt", "b.txt"});
}

TEST_CASE("An entry that matches nothing is an error naming it", "[data_input]") {
  anvil::test::TempDir dir("anvil_inputs");
  const fs::path corpus = make_corpus(dir.path);
  for (const fs::path& entry : {corpus / "*.parquet", corpus / "missing.txt",
                                corpus / "nope/**/*.txt", corpus / "*/config.txt"}) {
    try {
      expand_inputs({corpus / "a.txt", entry});
      FAIL("no error for " << entry);
    } catch (const anvil::DataError& error) {
      CHECK(std::string(error.what()) == "corpus input '" + entry.string() + "' matches no file");
      CHECK(error.hint() == "a relative path in a manifest is relative to the file that sets it");
    }
  }
  anvil::test::TempDir empty("anvil_inputs_empty");
  CHECK_THROWS_AS(expand_inputs({empty.path}), anvil::DataError);
}
