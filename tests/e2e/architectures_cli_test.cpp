// End-to-end: the same `anvil` binary trains the demo's data with three architectures, chosen
// only by [model] in the manifest (configs/tiny-dense.toml, tiny-moe.toml, tiny-hybrid.toml),
// each below a stated loss in a short run; the MoE run logs its balance loss and expert load.
#include "run_process.h"
#include "support/temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct ShortRun {
  anvil::test::ProcessResult process;
  std::vector<nlohmann::json> train_records;  ///< the "train" events of metrics.jsonl
};

// 40 steps of 4 x 256 tokens (the demo runs 340 of 8 x 256), logged every 20.
ShortRun train_briefly(const fs::path& out_dir, const std::string& config, const std::string& name) {
  ShortRun run;
  run.process = anvil::test::run_anvil(
      "train " + std::string(ANVIL_SOURCE_DIR) + "/configs/" + config + " --set 'run.out_dir=\"" +
      out_dir.string() + "\"' --set training.steps=40 --set training.micro_batch_size=4 " +
      "--set training.eval_every=0 --set training.warmup_steps=4 --set 'sample.prompt=\"\"'");
  std::ifstream in(out_dir / name / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record = nlohmann::json::parse(line);
    if (record["event"] == "train") run.train_records.push_back(std::move(record));
  }
  return run;
}

}  // namespace

TEST_CASE("one binary trains the dense, MoE and hybrid manifests", "[e2e][train][slow]") {
  anvil::test::TempDir dir("e2e_architectures");
  struct Case {
    const char* config;
    const char* name;
    const char* plugin;
    double threshold;  // stated loss after 40 steps (mean of steps 21-40)
  };
  for (const Case& c : {Case{"tiny-dense.toml", "tiny-dense", "dense", 6.3},
                        Case{"tiny-moe.toml", "tiny-moe", "moe", 6.3},
                        Case{"tiny-hybrid.toml", "tiny-hybrid", "hybrid", 6.3}}) {
    INFO(c.config);
    const ShortRun run = train_briefly(dir.path, c.config, c.name);
    INFO(run.process.out << run.process.err);
    REQUIRE(run.process.exit_code == 0);
    CHECK_THAT(run.process.out, Contains(c.plugin));
    REQUIRE(run.train_records.size() == 2);
    CHECK(run.train_records.front()["loss"].get<double>() > 6.5);  // ln(4096) = 8.3 at the start
    CHECK(run.train_records.back()["loss"].get<double>() < c.threshold);
    if (std::string(c.plugin) == "moe") {
      const nlohmann::json& last = run.train_records.back();
      CHECK(last["aux.moe_balance"].get<double>() > 0);
      CHECK(last["moe.imbalance"].get<double>() >= 1.0);
      double shares = 0;
      for (int e = 0; e < 8; ++e) shares += last["moe.load.e" + std::to_string(e)].get<double>();
      CHECK(shares == Approx(1.0));
    }
  }
}

TEST_CASE("check plans the memory of the GPU presets per rank and ZeRO stage", "[e2e][check]") {
  const std::string configs = std::string(ANVIL_SOURCE_DIR) + "/configs/";
  // DeepSeek-V2-Lite's shape: 15.7B parameters, 2.66B active; only ZeRO-3 fits 8 x 80 GiB.
  const auto moe = anvil::test::run_anvil("check " + configs + "moe-16b.toml --ranks 8");
  INFO(moe.out << moe.err);
  REQUIRE(moe.exit_code == 0);
  CHECK_THAT(moe.out, Contains("memory plan: 8 ranks, micro-batch 1 x 4096 tokens, bf16 autocast over fp32 "
                               "weights, adamw (8 bytes of state per weight), activation checkpointing"));
  CHECK_THAT(moe.out, Contains("parameters 15.71 B, 2.66 B active per token"));
  CHECK_THAT(moe.out, Contains("optimizer state         117 GiB           14.6 GiB"));
  CHECK_THAT(moe.out, Contains("fits in 80.0 GiB?       no, 189 GiB over"));
  CHECK_THAT(moe.out, Contains("yes, 35.7 GiB free"));
  // MLA caches a 512-wide latent and a 64-wide rotary key per layer: 27 x 576 x 4 bytes.
  CHECK_THAT(moe.out, Contains("decode cache: 60.8 KiB per token"));

  const auto hybrid = anvil::test::run_anvil("check " + configs + "hybrid-13b.toml --ranks 8 --device-memory 141");
  INFO(hybrid.out << hybrid.err);
  REQUIRE(hybrid.exit_code == 0);
  CHECK_THAT(hybrid.out, Contains("parameters 13.02 B; largest block 317.20 M; vocabulary 32000"));
  CHECK_THAT(hybrid.out, Contains("fits in 141 GiB?"));
  CHECK_THAT(hybrid.out, Contains("  recomputed block"));

  // One rank by default ($WORLD_SIZE unset): one column.
  const auto tiny = anvil::test::run_anvil("check " + configs + "tiny-moe.toml --set 'run.device=\"cuda\"'");
  INFO(tiny.out << tiny.err);
  REQUIRE(tiny.exit_code == 0);
  CHECK_THAT(tiny.out, Contains("memory plan: 1 rank, micro-batch 8 x 256 tokens, bf16 autocast"));
  CHECK_THAT(tiny.out, Contains("PER RANK                1 rank"));
}

TEST_CASE("check plans for the job its launcher describes, and refuses an inconsistent one", "[e2e][check]") {
  const std::string manifest = std::string(ANVIL_SOURCE_DIR) + "/configs/tiny-moe.toml --set 'run.device=\"cuda\"'";
  const std::string anvil = ANVIL_EXECUTABLE;
  // srun's variables: two tasks, the master taken from the node list.
  const auto slurm = anvil::test::run_process(
      "env SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_JOB_NODELIST='n[1-2]' " + anvil + " check " + manifest);
  INFO(slurm.out << slurm.err);
  REQUIRE(slurm.exit_code == 0);
  CHECK_THAT(slurm.out, Contains("memory plan: 2 ranks"));
  // torchrun's, without a master address: an error before any work.
  const auto torchrun = anvil::test::run_process("env RANK=0 WORLD_SIZE=2 " + anvil + " check " + manifest);
  CHECK(torchrun.exit_code == 1);
  CHECK_THAT(torchrun.err, Contains("error: torchrun started rank 0 of 2 without a master address: "
                                    "MASTER_ADDR is not set"));
  const auto outside = anvil::test::run_process("env RANK=2 WORLD_SIZE=2 MASTER_ADDR=h " + anvil + " check " + manifest);
  CHECK(outside.exit_code == 1);
  CHECK_THAT(outside.err, Contains("rank 2 is outside a world of 2 processes (RANK, WORLD_SIZE)"));
}

TEST_CASE("check catches inconsistent architecture options without building the model", "[e2e][check]") {
  const std::string configs = std::string(ANVIL_SOURCE_DIR) + "/configs/";
  const auto r = anvil::test::run_anvil("check " + configs + "moe-16b.toml --set model.top_k=65");
  INFO(r.out << r.err);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Contains("top_k"));
  CHECK_THAT(r.err, Contains("must be in [1, n_routed_experts = 64], got 65"));
  const auto ranks = anvil::test::run_anvil("check " + configs + "moe-16b.toml --ranks 3");
  CHECK(ranks.exit_code != 0);
  CHECK_THAT(ranks.err, Contains("global_batch_tokens"));
}
