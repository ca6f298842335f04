#include "test_support.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

namespace anvil::test {

void TestCatalog::add(ComponentKind kind, std::string name, OptionSchema options) {
  specs_.push_back(ComponentSpec{kind, std::move(name), "test component", std::move(options)});
}

const ComponentSpec* TestCatalog::find_spec(ComponentKind kind, std::string_view name) const {
  for (const ComponentSpec& spec : specs_)
    if (spec.kind == kind && spec.name == name) return &spec;
  return nullptr;
}

std::vector<std::string> TestCatalog::names(ComponentKind kind) const {
  std::vector<std::string> out;
  for (const ComponentSpec& spec : specs_)
    if (spec.kind == kind) out.push_back(spec.name);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
TestCatalog build_catalog() {
  TestCatalog catalog;
  {
    OptionSchema s;
    s.add("lowercase", false, "Fold text to lower case before encoding.");
    catalog.add(ComponentKind::tokenizer, "char", std::move(s));
  }
  {
    OptionSchema s;
    s.add("vocab_size", 32000, "Number of tokens to learn.").min(256);
    s.add("merges", "", "Merges file to load instead of training.");
    catalog.add(ComponentKind::tokenizer, "bpe", std::move(s));
  }
  {
    OptionSchema s;
    s.add("vocab_size", OptionType::integer, "Number of distinct token ids.").required().min(1);
    s.add("n_embd", 32, "Embedding width.").min(1);
    s.add("dropout", 0.0, "Dropout probability.").range(0, 1);
    catalog.add(ComponentKind::architecture, "bigram", std::move(s));
  }
  {
    OptionSchema s;
    s.add("lr", 0.01, "Learning rate.").min(0);
    s.add("momentum", 0.0, "Momentum factor.").range(0, 1);
    s.add("nesterov", false, "Use Nesterov momentum.");
    catalog.add(ComponentKind::optimizer, "sgd", std::move(s));
  }
  {
    OptionSchema s;
    s.add("lr", 0.001, "Learning rate.").min(0);
    s.add("betas", std::vector<double>{0.9, 0.999}, "Decay rates of the moment estimates.")
        .range(0, 1);
    s.add("weight_decay", 0.01, "Decoupled weight decay.").min(0);
    s.add("eps", 1e-8, "Denominator term.").min(0);
    catalog.add(ComponentKind::optimizer, "adamw", std::move(s));
  }
  catalog.add(ComponentKind::offload, "none", OptionSchema{});
  {
    OptionSchema s;
    s.add("pin_memory", true, "Use pinned host memory.");
    catalog.add(ComponentKind::offload, "cpu", std::move(s));
  }
  {
    OptionSchema s;
    s.add("label_smoothing", 0.0, "Label smoothing.").range(0, 1);
    s.add("z_loss", 0.0, "Weight of the z-loss term.").min(0);
    catalog.add(ComponentKind::loss, "cross-entropy", std::move(s));
  }
  {
    OptionSchema s;
    s.add("max_batches", 0, "Batches per evaluation; 0 for all.").min(0);
    catalog.add(ComponentKind::evaluator, "perplexity", std::move(s));
  }
  {
    OptionSchema s;
    s.add("top_k", std::vector<std::int64_t>{1}, "Which top-k accuracies to report.").min(1);
    catalog.add(ComponentKind::evaluator, "accuracy", std::move(s));
  }
  return catalog;
}
}  // namespace

const TestCatalog& test_catalog() {
  static const TestCatalog catalog = build_catalog();
  return catalog;
}

std::filesystem::path fixture_dir() {
  return std::filesystem::path(ANVIL_SOURCE_DIR) / "tests" / "fixtures" / "manifests";
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ScopedCwd::ScopedCwd(const std::filesystem::path& dir)
    : previous_(std::filesystem::current_path()) {
  std::filesystem::current_path(dir);
}

ScopedCwd::~ScopedCwd() {
  std::error_code ignored;
  std::filesystem::current_path(previous_, ignored);
}

}  // namespace anvil::test
