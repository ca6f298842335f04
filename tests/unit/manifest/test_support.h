#pragma once
// Shared by the manifest tests: a fixed component catalog, the fixture folder, and a guard that
// runs a test in another working directory.

#include "plugin/component_catalog.h"

#include <anvil/registry.h>

#include <filesystem>
#include <string>
#include <vector>

namespace anvil::test {

/// A ComponentCatalog over specs given in the test (no plugin libraries involved).
class TestCatalog : public core::ComponentCatalog {
 public:
  void add(ComponentKind kind, std::string name, OptionSchema options);
  const ComponentSpec* find_spec(ComponentKind kind, std::string_view name) const override;
  std::vector<std::string> names(ComponentKind kind) const override;

 private:
  std::vector<ComponentSpec> specs_;
};

/// The catalog every manifest test validates against:
///   tokenizer  char {lowercase}, bpe {vocab_size, merges}
///   architecture bigram {vocab_size (required), n_embd, dropout}
///   optimizer  sgd {lr, momentum, nesterov}, adamw {lr, betas, weight_decay, eps}
///   offload    none {}, cpu {pin_memory}
///   loss       cross-entropy {label_smoothing, z_loss}
///   evaluator  perplexity {max_batches}, accuracy {top_k}
const TestCatalog& test_catalog();

/// tests/fixtures/manifests in the source tree.
std::filesystem::path fixture_dir();

/// The whole content of a file.
std::string read_text(const std::filesystem::path& path);

/// Changes the working directory for its lifetime.
class ScopedCwd {
 public:
  explicit ScopedCwd(const std::filesystem::path& dir);
  ~ScopedCwd();
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

 private:
  std::filesystem::path previous_;
};

}  // namespace anvil::test
