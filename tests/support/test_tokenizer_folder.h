#pragma once
// Datasets carry the tokenizer that made them (Dataset::open checks its fingerprint); tests that
// write shards by hand put a stand-in tokenizer folder next to them.

#include "data/dataset_format.h"

#include <filesystem>
#include <fstream>
#include <string>

namespace anvil::test {

/// Writes <dir>/tokenizer/vocab.txt and returns the folder's fingerprint.
inline std::string write_test_tokenizer(const std::filesystem::path& dir) {
  const std::filesystem::path folder = dir / core::kDatasetTokenizerDir;
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "vocab.txt") << "test tokenizer\n";
  return core::fingerprint_folder(folder);
}

}  // namespace anvil::test
