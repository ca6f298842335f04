// End-to-end: checkpoints of `anvil train` runs. A run split by --stop-at-step and resumed
// reproduces the uninterrupted run bit for bit; a damaged newest checkpoint is skipped for the
// previous one; a changed manifest is refused unless the change is safe; SIGTERM saves and
// exits 0, a second signal exits at once; and killing the run with SIGKILL at random moments,
// over and over, never leaves a checkpoint that verifies but differs from the uninterrupted
// run's checkpoint of the same step.
#include "checkpoint/checkpoint_io.h"
#include "run_process.h"
#include "support/temp_dir.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using anvil::test::run_anvil;
using Catch::Matchers::Contains;

namespace {

const std::string kTiny = std::string(ANVIL_SOURCE_DIR) + "/tests/fixtures/train/tiny.toml";

// Options every run here shares: one metrics record per step, the run folder under `out`.
std::string run_options(const fs::path& out) {
  return "--set run.log_every=1 --set 'run.out_dir=\"" + out.string() + "\"'";
}

std::vector<nlohmann::json> records(const fs::path& run_dir, const std::string& event) {
  std::vector<nlohmann::json> selected;
  std::ifstream in(run_dir / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record = nlohmann::json::parse(line);
    if (record["event"] == event) selected.push_back(std::move(record));
  }
  return selected;
}

// (step, loss) of every train record, in file order.
std::vector<std::pair<int, double>> losses(const fs::path& run_dir) {
  std::vector<std::pair<int, double>> values;
  for (const auto& r : records(run_dir, "train")) values.emplace_back(r["step"].get<int>(), r["loss"].get<double>());
  return values;
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

fs::path checkpoint_of(const fs::path& run_dir, int step) {
  return run_dir / anvil::core::kCheckpointsDir / anvil::core::step_dir_name(step);
}

// The uninterrupted 40-step run, with a checkpoint after every step, made once per process.
const fs::path& reference_run() {
  static anvil::test::TempDir dir("ckpt_reference");
  static const fs::path run_dir = [] {
    const auto result = run_anvil("train " + kTiny + " " + run_options(dir.path) +
                                  " --set checkpoint.every_steps=1 --set checkpoint.keep_last=0");
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    return dir.path / "tiny";
  }();
  return run_dir;
}

// `anvil train` started in the background (its output to files in `dir`).
pid_t start_anvil(const std::string& arguments, const fs::path& dir) {
  const std::string command = "exec env -u ANVIL_PLUGIN_PATH " + std::string(ANVIL_EXECUTABLE) + " " +
                              arguments + " >>" + (dir / "out.txt").string() + " 2>>" +
                              (dir / "err.txt").string() + " </dev/null";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid`; its exit code, or 128 + the signal that ended it.
int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits until the run has logged a training step (up to a minute).
void wait_for_training(const fs::path& run_dir) {
  for (int i = 0; i < 600 && records(run_dir, "train").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace

TEST_CASE("a run stopped and resumed reproduces the uninterrupted run bit for bit", "[e2e][checkpoint]") {
  const fs::path& reference = reference_run();
  anvil::test::TempDir dir("ckpt_resume");
  const fs::path run_dir = dir.path / "tiny";
  // The first part saves asynchronously, from copies, while training goes on.
  const auto first = run_anvil("train " + kTiny + " " + run_options(dir.path) +
                               " --stop-at-step 17 --set checkpoint.async=true --set checkpoint.every_steps=5");
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.out, Contains("stopped after step 17 of 40"));
  CHECK_THAT(first.out, Contains("checkpoint step-00000015: snapshot taken"));
  for (int step : {10, 15, 17})  // keep_last = 3
    CHECK(read_all(checkpoint_of(run_dir, step) / "model.safetensors") ==
          read_all(checkpoint_of(reference, step) / "model.safetensors"));
  // The second part needs nothing but the run folder: the manifest comes from the checkpoint.
  const auto second = run_anvil("train --resume " + run_dir.string());
  INFO(second.out << second.err);
  REQUIRE(second.exit_code == 0);
  CHECK_THAT(second.out, Contains("resuming from " + checkpoint_of(run_dir, 17).string()));
  CHECK(anvil::test::has_row(second.out, {"steps", "40", "(resumed", "at", "17)"}));

  const auto expected = losses(reference);
  REQUIRE(expected.size() == 40);
  CHECK(losses(run_dir) == expected);
  CHECK(records(run_dir, "eval") == records(reference, "eval"));
  CHECK(records(run_dir, "resume").size() == 1);
  CHECK(read_all(checkpoint_of(run_dir, 40) / "model.safetensors") ==
        read_all(checkpoint_of(reference, 40) / "model.safetensors"));
  CHECK(read_all(checkpoint_of(run_dir, 40) / "optimizer.safetensors") ==
        read_all(checkpoint_of(reference, 40) / "optimizer.safetensors"));
  // Asked again, the finished run has nothing left to do.
  const auto again = run_anvil("train " + kTiny + " " + run_options(dir.path));
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Contains("already trained to step 40"));
}

TEST_CASE("a damaged newest checkpoint is skipped for the previous one", "[e2e][checkpoint]") {
  const fs::path& reference = reference_run();
  anvil::test::TempDir dir("ckpt_damaged");
  const fs::path run_dir = dir.path / "tiny";
  REQUIRE(run_anvil("train " + kTiny + " " + run_options(dir.path) + " --stop-at-step 10").exit_code == 0);
  REQUIRE(run_anvil("train " + kTiny + " " + run_options(dir.path) + " --stop-at-step 20").exit_code == 0);
  {
    std::fstream model(checkpoint_of(run_dir, 20) / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    model.seekp(-2, std::ios::end);
    model.put('\x7f');
  }
  const auto result = run_anvil("train " + kTiny + " " + run_options(dir.path));
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.err, Contains("skipping checkpoint " + checkpoint_of(run_dir, 20).string()) &&
                             Contains("model.safetensors does not match its checksum"));
  CHECK_THAT(result.out, Contains("resuming from " + checkpoint_of(run_dir, 10).string()));
  // Steps 11..20 ran twice; the last time they match the reference, and so does the end.
  CHECK(read_all(checkpoint_of(run_dir, 40) / "model.safetensors") ==
        read_all(checkpoint_of(reference, 40) / "model.safetensors"));
}

TEST_CASE("resuming with a changed manifest is refused unless the change is safe", "[e2e][checkpoint]") {
  anvil::test::TempDir dir("ckpt_changed");
  const fs::path run_dir = dir.path / "tiny";
  REQUIRE(run_anvil("train " + kTiny + " " + run_options(dir.path) + " --stop-at-step 5").exit_code == 0);
  const std::string saved = read_all(checkpoint_of(run_dir, 5) / "model.safetensors");

  const auto refused = run_anvil("train " + kTiny + " " + run_options(dir.path) +
                                 " --set training.seq_len=32 --set model.dropout=0.1");
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Contains("cannot resume from " + checkpoint_of(run_dir, 5).string()) &&
                              Contains("training.seq_len: 64 -> 32") && Contains("model.dropout: 0.0 -> 0.1"));
  CHECK(read_all(checkpoint_of(run_dir, 5) / "model.safetensors") == saved);

  const auto accepted = run_anvil("train " + kTiny + " " + run_options(dir.path) +
                                  " --set training.steps=7 --set training.eval_every=0");
  INFO(accepted.out << accepted.err);
  CHECK(accepted.exit_code == 0);
  CHECK_THAT(accepted.err, Contains("training.steps: 40 -> 7"));
  CHECK(fs::exists(checkpoint_of(run_dir, 7)));

  const auto never = run_anvil("train " + kTiny + " " + run_options(dir.path) + " --set checkpoint.resume=never");
  CHECK(never.exit_code == 1);
  CHECK_THAT(never.err, Contains("already has checkpoints") && Contains("--restart"));
  const auto restarted = run_anvil("train " + kTiny + " " + run_options(dir.path) +
                                   " --restart --stop-at-step 2");
  CHECK(restarted.exit_code == 0);
  CHECK_FALSE(fs::exists(checkpoint_of(run_dir, 7)));
  CHECK(fs::exists(checkpoint_of(run_dir, 2)));
}

TEST_CASE("checkpoints are saved by wall time and command-line mistakes are refused", "[e2e][checkpoint]") {
  anvil::test::TempDir dir("ckpt_minutes");
  const fs::path run_dir = dir.path / "tiny";
  // Six hundredths of a millisecond: every step is due, however fast the machine.
  const auto timed = run_anvil("train " + kTiny + " " + run_options(dir.path) +
                               " --set training.steps=4 --set training.warmup_steps=1 --set checkpoint.every_minutes=0.000001"
                               " --set checkpoint.at_end=false --set checkpoint.keep_last=0");
  INFO(timed.out << timed.err);
  REQUIRE(timed.exit_code == 0);
  CHECK(anvil::core::list_checkpoints(run_dir / anvil::core::kCheckpointsDir).size() == 4);
  CHECK(records(run_dir, "checkpoint").size() == 4);

  CHECK(run_anvil("train " + kTiny + " --resume " + run_dir.string() + " --restart").exit_code == 2);
  CHECK(run_anvil("train " + kTiny + " --stop-at-step -3").exit_code == 2);
  const auto no_manifest = run_anvil("train --resume");
  CHECK(no_manifest.exit_code == 2);
  CHECK_THAT(no_manifest.err, Contains("needs a manifest"));
}

TEST_CASE("SIGTERM saves a checkpoint at the step boundary and exits 0", "[e2e][checkpoint]") {
  anvil::test::TempDir dir("ckpt_sigterm");
  const fs::path run_dir = dir.path / "tiny";
  const pid_t pid = start_anvil("train " + kTiny + " " + run_options(dir.path) +
                                    " --set training.steps=100000 --set training.eval_every=0",
                                dir.path);
  wait_for_training(run_dir);
  ::kill(pid, SIGTERM);
  const int exit_code = wait_for(pid);
  const std::string out = read_all(dir.path / "out.txt"), err = read_all(dir.path / "err.txt");
  INFO(out << err);
  CHECK(exit_code == 0);
  CHECK_THAT(err, Contains("terminated; saving a checkpoint after this step"));
  CHECK_THAT(out, Contains("stopped after step") && Contains("(signal 15)"));
  const auto checkpoints = anvil::core::list_checkpoints(run_dir / anvil::core::kCheckpointsDir);
  REQUIRE(checkpoints.size() == 1);
  CHECK_NOTHROW(anvil::core::verify_checkpoint(checkpoints[0].dir));
  CHECK(checkpoints[0].step == records(run_dir, "train").back()["step"].get<int>());
}

TEST_CASE("a second signal ends the run at once without a checkpoint that looks valid", "[e2e][checkpoint]") {
  anvil::test::TempDir dir("ckpt_twice");
  const fs::path run_dir = dir.path / "tiny";
  // Steps of about a second, so that the second signal arrives before the step ends.
  const pid_t pid = start_anvil("train " + kTiny + " " + run_options(dir.path) +
                                    " --set training.steps=100000 --set checkpoint.every_steps=1"
                                    " --set model.d_model=256 --set model.ffn_hidden=1024"
                                    " --set training.micro_batch_size=32",
                                dir.path);
  wait_for_training(run_dir);
  ::kill(pid, SIGINT);
  // Signals sent together may merge into one: the second goes once the first was seen.
  for (int i = 0; i < 500 && read_all(dir.path / "err.txt").find("interrupted") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(pid, SIGINT);
  CHECK(wait_for(pid) == 128 + SIGINT);
  for (const auto& checkpoint : anvil::core::list_checkpoints(run_dir / anvil::core::kCheckpointsDir))
    CHECK_NOTHROW(anvil::core::verify_checkpoint(checkpoint.dir));
}

TEST_CASE("kill -9 at random moments never leaves a valid-looking wrong checkpoint", "[e2e][checkpoint]") {
  const fs::path& reference = reference_run();
  anvil::test::TempDir dir("ckpt_kill9");
  const fs::path run_dir = dir.path / "tiny";
  const std::string arguments = "train " + kTiny + " " + run_options(dir.path) +
                                " --set checkpoint.every_steps=1 --set checkpoint.keep_last=0";
  std::mt19937 random(20261129);
  std::uniform_int_distribution<int> delay_ms(0, 900);
  int compared = 0;
  for (int round = 0; round < 6; ++round) {
    const pid_t pid = start_anvil(arguments, dir.path);
    if (round == 0) wait_for_training(run_dir);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    ::kill(pid, SIGKILL);
    wait_for(pid);
    // Every checkpoint that verifies holds exactly what the uninterrupted run saved at its step.
    for (const auto& checkpoint : anvil::core::list_checkpoints(run_dir / anvil::core::kCheckpointsDir)) {
      try {
        anvil::core::verify_checkpoint(checkpoint.dir);
      } catch (const anvil::Error&) {
        continue;  // damaged and detected: resume skips it
      }
      const fs::path same_step = checkpoint_of(reference, static_cast<int>(checkpoint.step));
      for (const char* file : {"model.safetensors", "optimizer.safetensors", "rng.safetensors"}) {
        INFO(checkpoint.dir << " " << file);
        CHECK(read_all(checkpoint.dir / file) == read_all(same_step / file));
      }
      ++compared;
    }
  }
  CHECK(compared > 0);
  const auto finish = run_anvil(arguments);
  INFO(finish.out << finish.err);
  REQUIRE(finish.exit_code == 0);
  CHECK(read_all(checkpoint_of(run_dir, 40) / "model.safetensors") ==
        read_all(checkpoint_of(reference, 40) / "model.safetensors"));
}

TEST_CASE("anvil generate continues a prompt from a checkpoint", "[e2e][checkpoint][generate]") {
  const fs::path& reference = reference_run();
  const std::string sampled = "generate " + reference.string() + " --max-new-tokens 24 --temperature 1 --seed 3";
  const auto cached = run_anvil(sampled + " --prompt 'ROMEO:'");
  INFO(cached.out << cached.err);
  REQUIRE(cached.exit_code == 0);
  CHECK(cached.out.rfind("ROMEO:", 0) == 0);
  CHECK(cached.out.size() == std::string("ROMEO:").size() + 24 + 1);  // byte tokens, newline
  CHECK_THAT(cached.err, Contains("24 tokens in") && Contains("tokens/s") && Contains("stopped: length") &&
                             Contains("step 40 of " + checkpoint_of(reference, 40).string()));
  // The KV cache gives what recomputing the whole sequence gives; streaming changes nothing.
  const auto recomputed = run_anvil(sampled + " --prompt 'ROMEO:' --no-cache --no-stream");
  CHECK(recomputed.out == cached.out);
  CHECK_THAT(recomputed.err, Contains("no KV cache"));
  // The prompt from stdin.
  const auto piped = anvil::test::run_process("(echo 'ROMEO:' | env -u ANVIL_PLUGIN_PATH " +
                                              std::string(ANVIL_EXECUTABLE) + " " + sampled + ")");
  CHECK(piped.out == cached.out);
  // Seeded: the same seed repeats, another seed and an earlier checkpoint differ.
  CHECK(run_anvil(sampled + " --prompt 'ROMEO:'").out == cached.out);
  CHECK(run_anvil(sampled + " --prompt 'ROMEO:' --seed 4").out != cached.out);
  const auto earlier = run_anvil("generate " + checkpoint_of(reference, 5).string() +
                                 " --max-new-tokens 24 --temperature 1 --seed 3 --prompt 'ROMEO:'");
  CHECK(earlier.exit_code == 0);
  CHECK(earlier.out != cached.out);
  CHECK_THAT(earlier.err, Contains("step 5 of"));
  // top-p and the repetition penalty change the draw; a stop string ends the text before it.
  CHECK(run_anvil(sampled + " --prompt 'ROMEO:' --top-p 0.5 --repetition-penalty 1.3").out != cached.out);
  const auto stopped = run_anvil(sampled + " --prompt 'ROMEO:' --stop ' '");
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.out.find(' ') == std::string::npos);
  CHECK(stopped.out.size() < cached.out.size());
  CHECK_THAT(stopped.err, Contains("stopped: stop string"));

  const auto bad = run_anvil("generate " + reference.string() + " --prompt x --top-p 1.5");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Contains("--top-p"));
  const auto missing = run_anvil("generate /nonexistent/run --prompt x");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Contains("/nonexistent/run"));
}
