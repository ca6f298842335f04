// End-to-end: `anvil train` on real manifests. A tiny run learns and leaves its run folder;
// changing the optimizer, the schedule or the batch split in the manifest changes (or keeps)
// the run as it should with the same binary; runs repeat exactly; bad settings fail early with
// the key named. (The demo's configs/tiny-*.toml are trained in architectures_cli_test.cpp.)
#include "run_process.h"
#include "support/temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using anvil::test::run_anvil;
using Catch::Matchers::Contains;

namespace {

const std::string kTiny = std::string(ANVIL_SOURCE_DIR) + "/tests/fixtures/train/tiny.toml";

struct Run {
  anvil::test::ProcessResult process;
  std::vector<nlohmann::json> records;  ///< metrics.jsonl

  std::vector<nlohmann::json> events(const std::string& event) const {
    std::vector<nlohmann::json> selected;
    for (const auto& r : records)
      if (r["event"] == event) selected.push_back(r);
    return selected;
  }
  std::vector<double> losses() const {
    std::vector<double> values;
    for (const auto& r : events("train")) values.push_back(r["loss"].get<double>());
    return values;
  }
};

Run train(const fs::path& out_dir, const std::string& manifest, const std::string& extra = "") {
  Run run;
  run.process = run_anvil("train " + manifest + " --set 'run.out_dir=\"" + out_dir.string() + "\"' " + extra);
  std::ifstream in(out_dir / "tiny" / "metrics.jsonl");
  if (!in) in.open(out_dir / "tiny-dense" / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) run.records.push_back(nlohmann::json::parse(line));
  return run;
}

}  // namespace

TEST_CASE("anvil train learns the tiny run and leaves its run folder", "[e2e][train]") {
  anvil::test::TempDir dir("e2e_train");
  const Run run = train(dir.path, kTiny);
  INFO(run.process.out << run.process.err);
  REQUIRE(run.process.exit_code == 0);
  // Data prepared on the way, the header, progress lines, evaluation, summary, sample.
  CHECK_THAT(run.process.out, Contains("prepared "));
  CHECK_THAT(run.process.out, Contains("training tiny on cpu"));
  CHECK_THAT(run.process.out, Contains("precision fp32, 2 threads"));
  CHECK_THAT(run.process.out, Contains("step 40/40  loss "));
  CHECK_THAT(run.process.out, Contains("eval at step 20: loss "));
  CHECK_THAT(run.process.out, Contains("bits_per_byte"));
  CHECK_THAT(run.process.out, Contains("summary"));
  CHECK_THAT(run.process.out, Contains("sample (40 tokens"));
  CHECK(fs::exists(dir.path / "tiny" / "manifest.toml"));

  const std::vector<double> losses = run.losses();
  REQUIRE(losses.size() == 8);  // log_every = 5
  CHECK(losses.front() > 4.5);  // ln(257) = 5.55 at the start
  CHECK(losses.back() < 3.6);   // the byte statistics of English (measured 3.44)
  const auto evals = run.events("eval");
  REQUIRE(evals.size() == 2);
  CHECK(evals[1]["perplexity.loss"].get<double>() < evals[0]["perplexity.loss"].get<double>());
  // Bytes tokens: bits per byte is the loss in bits (EOS tokens stand for no text, so a bit more).
  const double bpb = evals[1]["perplexity.bits_per_byte"].get<double>();
  CHECK(bpb > evals[1]["perplexity.loss"].get<double>() / std::log(2.0));
  CHECK(bpb < 1.1 * evals[1]["perplexity.loss"].get<double>() / std::log(2.0));
  const auto summary = run.events("summary");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0]["steps"] == 40);
  CHECK(summary[0]["tokens"] == 40 * 8 * 64);
  CHECK(summary[0]["tokens_per_s"].get<double>() > 0);
  CHECK(summary[0]["mfu"].get<double>() > 0);
  CHECK(summary[0]["mfu"].get<double>() < 1);
  CHECK(summary[0]["precision"] == "fp32");
  CHECK(run.events("sample").size() == 1);
  // Learning-rate warm-up then cosine decay to min_lr_ratio (0.1) of 3e-3.
  const auto trains = run.events("train");
  CHECK(trains.front()["lr"].get<double>() == Approx(3e-3).epsilon(1e-6));  // step 5: first after warm-up
  CHECK(trains.back()["lr"].get<double>() == Approx(3e-4).epsilon(1e-6));
}

TEST_CASE("a run repeats exactly, and the batch split does not change what is learned", "[e2e][train]") {
  anvil::test::TempDir dir("e2e_train_repeat");
  const std::string short_run = "--set training.steps=10 --set training.eval_every=0 --set 'sample.prompt=\"\"'";
  const Run a = train(dir.path / "a", kTiny, short_run);
  const Run b = train(dir.path / "b", kTiny, short_run);
  REQUIRE(a.process.exit_code == 0);
  REQUIRE(b.process.exit_code == 0);
  CHECK(a.losses() == b.losses());  // bit for bit

  // 2 micro-batches of 4 sequences per step read the same sequences as 1 of 8.
  const Run split = train(dir.path / "split", kTiny,
                          short_run + " --set training.micro_batch_size=4 --set training.grad_accum_steps=2");
  REQUIRE(split.process.exit_code == 0);
  CHECK_THAT(split.process.out, Contains("(2 micro-batches of 4)"));
  REQUIRE(split.losses().size() == a.losses().size());
  for (std::size_t i = 0; i < a.losses().size(); ++i)
    CHECK(split.losses()[i] == Approx(a.losses()[i]).epsilon(1e-4));
  // The same, asked for as a global batch in tokens.
  const Run tokens = train(dir.path / "tokens", kTiny,
                           short_run + " --set training.micro_batch_size=4 --set training.global_batch_tokens=512");
  REQUIRE(tokens.process.exit_code == 0);
  CHECK(tokens.losses() == split.losses());
}

TEST_CASE("the optimizer and the schedule are chosen in the manifest", "[e2e][train]") {
  anvil::test::TempDir dir("e2e_train_swap");
  const std::string short_run = "--set training.steps=10 --set training.eval_every=0 --set 'sample.prompt=\"\"'";
  const Run adamw = train(dir.path / "adamw", kTiny, short_run);
  const Run sgd = train(dir.path / "sgd", kTiny, short_run + " --set 'optimizer.plugin=\"sgd\"'");
  const Run lion = train(dir.path / "lion", kTiny, short_run + " --set 'optimizer.plugin=\"lion\"' --set optimizer.lr=3e-4");
  REQUIRE(adamw.process.exit_code == 0);
  REQUIRE(sgd.process.exit_code == 0);
  INFO(lion.process.err);
  REQUIRE(lion.process.exit_code == 0);
  // Same first step (same weights and data), different updates afterwards.
  CHECK(sgd.losses().back() != adamw.losses().back());
  CHECK(lion.losses().back() != adamw.losses().back());
  CHECK(sgd.losses().back() > adamw.losses().back());  // plain SGD at 3e-3 barely moves

  const Run constant = train(dir.path / "constant", kTiny,
                             short_run + " --set 'training.schedule=\"constant\"' --set training.warmup_steps=0");
  REQUIRE(constant.process.exit_code == 0);
  for (const auto& record : constant.events("train")) CHECK(record["lr"].get<double>() == Approx(3e-3));
  const Run wsd = train(dir.path / "wsd", kTiny,
                        short_run + " --set 'training.schedule=\"wsd\"' --set training.warmup_steps=0");
  REQUIRE(wsd.process.exit_code == 0);
  CHECK(wsd.events("train")[0]["lr"].get<double>() == Approx(3e-3));     // stable at step 5
  CHECK(wsd.events("train")[1]["lr"].get<double>() == Approx(3e-4));     // decayed by step 10
}

TEST_CASE("anvil train refuses bad settings before training", "[e2e][train]") {
  anvil::test::TempDir dir("e2e_train_errors");
  SECTION("a global batch that micro-batches cannot make up") {
    const Run r = train(dir.path, kTiny, "--set training.global_batch_tokens=1000");
    CHECK(r.process.exit_code == 2);
    CHECK_THAT(r.process.err, Contains("training.global_batch_tokens"));
    CHECK_THAT(r.process.err, Contains("not a multiple of micro_batch_size * seq_len * ranks = 512"));
    CHECK_FALSE(fs::exists(dir.path / "tiny" / "data"));  // nothing done
  }
  SECTION("warm-up as long as the run") {
    const Run r = train(dir.path, kTiny, "--set training.steps=4");
    CHECK(r.process.exit_code == 2);  // a manifest error, at the key that set it
    CHECK_THAT(r.process.err, Contains(": error: training.warmup_steps: warmup_steps = 4 leaves no step after warm-up"));
    CHECK_FALSE(fs::exists(dir.path / "tiny" / "data"));
  }
  SECTION("a GPU that is not there") {
    const Run r = train(dir.path, kTiny, "--set 'run.device=\"cuda:1\"'");
    CHECK(r.process.exit_code == 1);
    CHECK_THAT(r.process.err, Contains("[run] device = \"cuda:1\""));
  }
  SECTION("a sequence longer than the model's positions") {
    const Run r = train(dir.path, kTiny, "--set training.seq_len=128");
    CHECK(r.process.exit_code == 2);  // refused while the manifest is validated
    CHECK_THAT(r.process.err, Contains("error: model.max_seq_len: 64 positions are fewer than training.seq_len = 128"));
    CHECK_THAT(r.process.err, Contains("HINT: raise max_seq_len to at least 128, or lower training.seq_len"));
    CHECK_FALSE(fs::exists(dir.path / "tiny" / "data"));  // nothing done
  }
  // sgd at lr 1e12 without clipping: the loss is not finite within a few steps.
  const std::string diverging = "--set 'optimizer.plugin=\"sgd\"' --set optimizer.lr=1e12 --set training.grad_clip=0 "
                                "--set training.warmup_steps=0 ";
  SECTION("a diverging run stops, naming the step") {
    const Run r = train(dir.path, kTiny, diverging + "--set 'training.nonfinite=\"stop\"'");
    CHECK(r.process.exit_code == 1);
    CHECK_THAT(r.process.err, Contains("training stopped at step"));
    CHECK_THAT(r.process.err, Contains("is not finite"));
  }
  SECTION("skipping stops after max_skipped_steps bad steps in a row") {
    const Run r = train(dir.path, kTiny, diverging + "--set training.max_skipped_steps=3");
    CHECK(r.process.exit_code == 1);
    CHECK_THAT(r.process.err, Contains("3 steps in a row"));
    CHECK_THAT(r.process.err, Contains("step skipped"));
  }
}
