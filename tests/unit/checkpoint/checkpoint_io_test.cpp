// Checkpoint folders: a round trip keeps every byte and field; a damaged, truncated or
// unfinished checkpoint is never taken for a valid one (and the previous one is used instead);
// retention keeps what it says; the background writer writes what the synchronous one does.
#include "checkpoint/checkpoint_io.h"
#include "checkpoint/checkpointer.h"
#include "checkpoint/checksum_index.h"
#include "support/temp_dir.h"

#include <anvil/errors.h>

#include <ATen/Functions.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace anvil::core;
using Catch::Matchers::Contains;

namespace {

CheckpointSnapshot snapshot_at(std::int64_t step, const fs::path& tokenizer_dir = {}) {
  CheckpointSnapshot s;
  s.state.step = step;
  s.state.tokens = step * 512;
  s.state.skipped_steps = 1;
  s.state.loss_scale = 1024;
  s.state.loss_scale_good_steps = 7;
  s.state.train_seconds = 12.5;
  s.state.loader = "anvil-loader 1 sequences=64 seed=9 seq_len=8 windows=100";
  s.state.plugins = {{"architecture", "dense", "arch-dense", "1.0.0"}};
  s.state.anvil_version = "0.1.0";
  s.state.torch_version = "1.13.0";
  s.manifest_text = "[run]\nname = \"t\"\n";
  s.model = {{"w", at::arange(12, at::kFloat).reshape({3, 4}).add(static_cast<double>(step))},
             {"b", at::full({5}, 0.5, at::kFloat)}};
  s.optimizer = {{"state.0.exp_avg", at::ones({3, 4})}, {"state.0.step", at::full({1}, step, at::kLong)}};
  s.rng = {{"cpu", at::arange(16, at::kByte)}};
  s.tokenizer_dir = tokenizer_dir;
  return s;
}

void flip_byte(const fs::path& file, std::uint64_t offset) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  io.get(c);
  io.seekp(static_cast<std::streamoff>(offset));
  io.put(static_cast<char>(c ^ 0x01));
}

std::vector<std::int64_t> steps_in(const fs::path& dir) {
  std::vector<std::int64_t> steps;
  for (const CheckpointEntry& e : list_checkpoints(dir)) steps.push_back(e.step);
  return steps;
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("step folder names round trip and other names are not checkpoints", "[checkpoint]") {
  CHECK(step_dir_name(100) == "step-00000100");
  CHECK(parse_step_dir_name("step-00000100") == 100);
  CHECK(parse_step_dir_name(step_dir_name(123456789)) == 123456789);
  CHECK_FALSE(parse_step_dir_name(".partial-step-00000100"));
  CHECK_FALSE(parse_step_dir_name("step-"));
  CHECK_FALSE(parse_step_dir_name("step-12a"));
  CHECK_FALSE(parse_step_dir_name("latest"));
}

TEST_CASE("a checkpoint folder reads back exactly what was written", "[checkpoint]") {
  anvil::test::TempDir dir("ckpt_roundtrip");
  const fs::path tokenizer = dir.path / "tok";
  fs::create_directories(tokenizer / "sub");
  std::ofstream(tokenizer / "vocab.txt") << "a b c\n";
  std::ofstream(tokenizer / "sub" / "extra.bin") << "xyz";
  const CheckpointSnapshot written = snapshot_at(42, tokenizer);
  const fs::path folder = write_checkpoint(dir.path / "checkpoints", written);
  CHECK(folder == dir.path / "checkpoints" / "step-00000042");
  CHECK(read_all(dir.path / "checkpoints" / kLatestFile) == "step-00000042\n");

  const LoadedCheckpoint loaded = read_checkpoint(folder);
  CHECK(loaded.state.step == 42);
  CHECK(loaded.state.tokens == 42 * 512);
  CHECK(loaded.state.skipped_steps == 1);
  CHECK(loaded.state.loss_scale == 1024);
  CHECK(loaded.state.loss_scale_good_steps == 7);
  CHECK(loaded.state.train_seconds == 12.5);
  CHECK(loaded.state.loader == written.state.loader);
  REQUIRE(loaded.state.plugins.size() == 1);
  CHECK(loaded.state.plugins[0].library == "arch-dense");
  CHECK(loaded.manifest_text == written.manifest_text);
  REQUIRE(loaded.model.tensors.size() == 2);
  CHECK(loaded.model.tensors[0].first == "w");
  CHECK(at::equal(loaded.model.tensors[0].second, written.model[0].second));
  CHECK(at::equal(loaded.model.tensors[1].second, written.model[1].second));
  CHECK(at::equal(loaded.optimizer.tensors[1].second, written.optimizer[1].second));
  CHECK(at::equal(loaded.rng.tensors[0].second, written.rng[0].second));
  CHECK(read_all(folder / kCheckpointTokenizerDir / "vocab.txt") == "a b c\n");
  CHECK(read_all(folder / kCheckpointTokenizerDir / "sub" / "extra.bin") == "xyz");
  // Nothing but the finished folder and the pointer is left behind.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path / "checkpoints")) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"latest", "step-00000042"});
}

TEST_CASE("a damaged checkpoint is detected by its checksums and the previous one is used", "[checkpoint]") {
  anvil::test::TempDir dir("ckpt_tamper");
  const fs::path root = dir.path / "checkpoints";
  write_checkpoint(root, snapshot_at(10));
  const fs::path newest = write_checkpoint(root, snapshot_at(20));
  std::vector<std::string> warnings;
  const auto warn = [&](const std::string& w) { warnings.push_back(w); };

  SECTION("a flipped byte in the weights") {
    flip_byte(newest / kModelFile, fs::file_size(newest / kModelFile) - 3);
    CHECK_THROWS_WITH(verify_checkpoint(newest), Contains("model.safetensors") && Contains("checksum"));
  }
  SECTION("a truncated optimizer file") {
    fs::resize_file(newest / kOptimizerFile, fs::file_size(newest / kOptimizerFile) - 1);
    CHECK_THROWS_WITH(verify_checkpoint(newest), Contains("optimizer.safetensors") && Contains("bytes"));
  }
  SECTION("a missing state file") {
    fs::remove(newest / kStateFile);
    CHECK_THROWS_WITH(verify_checkpoint(newest), Contains("state.json") && Contains("missing"));
  }
  SECTION("no checksum index (a copy interrupted before its end)") {
    fs::remove(newest / kChecksumsFile);
    CHECK_THROWS_WITH(verify_checkpoint(newest), Contains("checksums.json"));
  }
  SECTION("a changed manifest") {
    std::ofstream(newest / kManifestFile, std::ios::app) << "# edited\n";
    CHECK_THROWS_WITH(verify_checkpoint(newest), Contains("manifest.toml"));
  }
  const auto found = latest_valid_checkpoint(root, warn);
  REQUIRE(found);
  CHECK(found->step == 10);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Contains("step-00000020"));
  CHECK(resolve_checkpoint(dir.path, warn) == root / "step-00000010");  // a run folder
  CHECK_THROWS_AS(read_checkpoint(newest), anvil::DataError);
}

TEST_CASE("unfinished folders are never checkpoints and are cleaned up", "[checkpoint]") {
  anvil::test::TempDir dir("ckpt_partial");
  const fs::path root = dir.path / "checkpoints";
  write_checkpoint(root, snapshot_at(5));
  fs::create_directories(root / ".partial-step-00000006");
  fs::create_directories(root / ".deleting-step-00000004");
  CHECK(steps_in(root) == std::vector<std::int64_t>{5});
  remove_unfinished_checkpoints(root);
  CHECK_FALSE(fs::exists(root / ".partial-step-00000006"));
  CHECK_FALSE(fs::exists(root / ".deleting-step-00000004"));
  CHECK_THROWS_WITH(resolve_checkpoint(dir.path / "nothing", {}), Contains("no such checkpoint"));
  anvil::test::TempDir empty("ckpt_empty");
  CHECK_THROWS_WITH(resolve_checkpoint(empty.path, {}), Contains("no valid checkpoint"));
}

TEST_CASE("retention keeps the newest keep_last and every keep_every-th", "[checkpoint]") {
  anvil::test::TempDir dir("ckpt_retention");
  const fs::path root = dir.path / "checkpoints";
  for (std::int64_t step = 1; step <= 7; ++step) write_checkpoint(root, snapshot_at(step));
  CHECK(apply_retention(root, {2, 3}) == std::vector<std::int64_t>{1, 2, 4, 5});
  CHECK(steps_in(root) == std::vector<std::int64_t>{3, 6, 7});
  CHECK(apply_retention(root, {1, 0}) == std::vector<std::int64_t>{3, 6});
  CHECK(steps_in(root) == std::vector<std::int64_t>{7});
  CHECK(apply_retention(root, {0, 0}).empty());  // keep_last = 0 keeps all
}

TEST_CASE("the background writer writes the same folder as a synchronous save", "[checkpoint]") {
  anvil::test::TempDir dir("ckpt_async");
  {
    Checkpointer sync(dir.path / "sync", {0, 0}, false);
    sync.save(snapshot_at(3));
    CHECK(sync.last_written() == dir.path / "sync" / "step-00000003");
  }
  Checkpointer async(dir.path / "async", {2, 0}, true);
  for (std::int64_t step = 1; step <= 3; ++step) async.save(snapshot_at(step));
  async.wait();
  CHECK(async.last_written() == dir.path / "async" / "step-00000003");
  CHECK(async.last_write_bytes() > 0);
  CHECK(steps_in(dir.path / "async") == std::vector<std::int64_t>{2, 3});
  for (const char* file : {kModelFile, kOptimizerFile, kRngFile, kStateFile, kManifestFile, kChecksumsFile})
    CHECK(read_all(dir.path / "async" / "step-00000003" / file) ==
          read_all(dir.path / "sync" / "step-00000003" / file));
}

TEST_CASE("a failed background write is reported by the next call", "[checkpoint]") {
  anvil::test::TempDir dir("ckpt_async_fail");
  const fs::path blocked = dir.path / "file";
  std::ofstream(blocked) << "not a folder";
  Checkpointer async(blocked / "checkpoints", {0, 0}, true);
  async.save(snapshot_at(1));
  CHECK_THROWS(async.wait());
  CHECK_NOTHROW(async.wait());  // reported once
}

TEST_CASE("the background writer hands the written snapshot back for reuse", "[checkpoint]") {
  anvil::test::TempDir dir("ckpt_staging");
  Checkpointer async(dir.path / "checkpoints", {0, 0}, true);
  CHECK(async.take_staging().model.empty());  // nothing written yet
  CheckpointSnapshot first = snapshot_at(1);
  const void* memory = first.model[0].second.data_ptr();
  async.save(std::move(first));
  const CheckpointSnapshot staging = async.take_staging();  // waits for the write
  REQUIRE(staging.model.size() == 2);
  CHECK(staging.model[0].second.data_ptr() == memory);
  CHECK(fs::exists(dir.path / "checkpoints" / "step-00000001" / kChecksumsFile));
  CHECK(async.take_staging().model.empty());  // handed out once
}
