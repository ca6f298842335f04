// Differences between the manifest saved with a checkpoint and the one a resume runs, and which
// of them a resume accepts; path keys made absolute so a saved manifest reads the same anywhere.
#include "manifest/manifest.h"
#include "manifest/manifest_diff.h"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace anvil::core;
namespace fs = std::filesystem;

TEST_CASE("diff_manifests lists changed, added and removed keys", "[manifest][resume]") {
  const Manifest before = Manifest::parse(R"(
[training]
steps = 100
lr = 0.001
[[eval]]
plugin = "perplexity"
max_batches = 8
[data]
train = ["a.txt"]
)", "before.toml");
  const Manifest after = Manifest::parse(R"(
[training]
steps = 200
lr = 0.001
warmup_steps = 10
[[eval]]
plugin = "perplexity"
max_batches = 4
[data]
train = ["a.txt", "b.txt"]
)", "after.toml");
  const std::vector<ManifestChange> changes = diff_manifests(before.root(), after.root());
  REQUIRE(changes.size() == 4);
  CHECK(changes[0].key == "data.train");
  CHECK(changes[0].before == "[\"a.txt\"]");
  CHECK(changes[0].after == "[\"a.txt\", \"b.txt\"]");
  CHECK(changes[1].key == "eval[0].max_batches");
  CHECK(changes[1].before == "8");
  CHECK(changes[1].after == "4");
  CHECK(changes[2].key == "training.steps");
  CHECK(changes[3].key == "training.warmup_steps");
  CHECK(changes[3].before == "(not set)");
  CHECK(diff_manifests(before.root(), before.root()).empty());
}

TEST_CASE("only settings that leave the finished steps unchanged are safe on resume", "[manifest][resume]") {
  for (const char* key : {"training.steps", "training.eval_every", "run.log_every", "run.threads",
                          "checkpoint.every_steps", "sample.prompt", "eval[0].max_batches", "eval",
                          // the learning-rate schedule: a new phase of an extended run
                          "training.schedule", "training.warmup_steps", "training.min_lr_ratio",
                          "training.decay_fraction", "optimizer.lr"})
    CHECK(is_safe_resume_change(key));
  for (const char* key : {"training.seq_len", "optimizer.weight_decay", "model.d_model", "data.train",
                          "run.seed", "training.precision", "tokenizer.vocab_size", "training.stepsize"})
    CHECK_FALSE(is_safe_resume_change(key));
}

TEST_CASE("make_paths_absolute anchors path keys to the file that set them", "[manifest][resume]") {
  const fs::path cwd = fs::current_path();
  Manifest manifest = Manifest::parse(R"(
[run]
out_dir = "runs"
name = "x"
[data]
train = ["corpus/a.txt", "/abs/b.txt"]
)", "m.toml");
  make_paths_absolute(manifest.root());
  CHECK(manifest.root().at_path("run.out_dir").value_or(std::string()) == (cwd / "runs").string());
  CHECK(manifest.root().at_path("data.train[0]").value_or(std::string()) == (cwd / "corpus/a.txt").string());
  CHECK(manifest.root().at_path("data.train[1]").value_or(std::string()) == "/abs/b.txt");
  CHECK(manifest.root().at_path("run.name").value_or(std::string()) == "x");
}
