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
