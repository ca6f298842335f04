// The memory plan's arithmetic per ZeRO stage, its printed table, and the optimizer probe.
#include "adam_optimizer.h"
#include "lion_optimizer.h"
#include "plan/memory_plan.h"
#include "plan/optimizer_probe.h"
#include "sgd_optimizer.h"

#include <catch2/catch.hpp>

#include <sstream>

using anvil::core::MemoryColumn;
using anvil::core::MemoryPlan;
using anvil::core::MemoryPlanInput;
using anvil::core::format_binary_bytes;
using anvil::core::optimizer_state_bytes_per_parameter;
using anvil::core::plan_memory;

namespace {

MemoryPlanInput input(std::int64_t ranks) {
  MemoryPlanInput in;
  in.model.parameters = 1000;
  in.model.active_parameters = 400;
  in.model.largest_block_parameters = 100;
  in.model.activations = {{"blocks", 10}, {"output head and loss", 20}};
  in.model.weight_copy_bytes = 500;
  in.model.kv_cache_bytes_per_token = 64;
  in.ranks = ranks;
  in.micro_batch_size = 2;
  in.seq_len = 8;
  in.vocab_size = 50;
  in.weight_bytes = 4;
  in.optimizer_bytes_per_parameter = 8;
  in.precision = "bf16 autocast over fp32 weights";
  in.optimizer = "adamw";
  return in;
}

void check_column(const MemoryColumn& c, double weights, double gradients, double optimizer,
                  double copies, double activations) {
  INFO(c.name);
  CHECK(c.weights == weights);
  CHECK(c.gradients == gradients);
  CHECK(c.optimizer == optimizer);
  CHECK(c.weight_copies == copies);
  CHECK(c.activations == activations);
  CHECK(c.total() == weights + gradients + optimizer + copies + activations);
}

}  // namespace

TEST_CASE("memory plan shards optimizer state, gradients and weights per ZeRO stage", "[plan]") {
  const MemoryPlan plan = plan_memory(input(4));
  REQUIRE(plan.columns.size() == 4);
  // 16 tokens x (10 + 20) bytes of activations on every rank.
  check_column(plan.columns[0], 4000, 4000, 8000, 500, 480);
  check_column(plan.columns[1], 4000, 4000, 2000, 500, 480);
  check_column(plan.columns[2], 4000, 1000, 2000, 500, 480);
  // ZeRO-3: a quarter of the weights plus two gathered blocks, a quarter of the gradients plus
  // one block's, and autocast copies of the two gathered blocks only.
  check_column(plan.columns[3], 1000 + 800, 1000 + 400, 2000, 100, 480);
  CHECK(plan.columns[0].name == "replicated");
  CHECK(plan.columns[3].name == "ZeRO-3");
  REQUIRE(plan.activations.size() == 2);
  CHECK(plan.activations[1].bytes == 320);
  CHECK(plan.kv_cache_per_token == 64);
  CHECK(plan.kv_cache_per_sequence == 512);
}

TEST_CASE("memory plan of one rank has one column", "[plan]") {
  const MemoryPlan plan = plan_memory(input(1));
  REQUIRE(plan.columns.size() == 1);
  CHECK(plan.columns[0].name == "1 rank");
  check_column(plan.columns[0], 4000, 4000, 8000, 500, 480);
}

TEST_CASE("memory plan table says which sharding fits the device", "[plan]") {
  MemoryPlanInput in = input(4);
  in.device_memory = 10000;
  std::ostringstream out;
  print_memory_plan(in, plan_memory(in), out);
  const std::string text = out.str();
  CHECK_THAT(text, Catch::Contains("memory plan: 4 ranks, micro-batch 2 x 8 tokens, bf16 autocast over fp32 "
                                   "weights, adamw (8 bytes of state per weight)"));
  CHECK_THAT(text, Catch::Contains("parameters 1.0 K, 0.4 K active per token"));
  // 16980 bytes replicated, 5780 with ZeRO-3.
  CHECK_THAT(text, Catch::Contains("no, 6.82 KiB over"));
  CHECK_THAT(text, Catch::Contains("yes, 4.12 KiB free"));
  CHECK_THAT(text, Catch::Contains("decode cache: 64 B per token, 512 B per 8-token sequence"));
}

TEST_CASE("binary byte counts keep three significant digits", "[plan]") {
  CHECK(format_binary_bytes(100) == "100 B");
  CHECK(format_binary_bytes(1536) == "1.50 KiB");
  CHECK(format_binary_bytes(15.5 * 1024 * 1024) == "15.5 MiB");
  CHECK(format_binary_bytes(117.0 * 1024 * 1024 * 1024) == "117 GiB");
}

TEST_CASE("optimizer probe measures the state each optimizer keeps per weight", "[plan]") {
  anvil::builtin::AdamOptions adam;
  CHECK(optimizer_state_bytes_per_parameter(*std::make_unique<anvil::builtin::AdamOptimizer>(adam)) == 8);
  adam.amsgrad = true;
  CHECK(optimizer_state_bytes_per_parameter(*std::make_unique<anvil::builtin::AdamOptimizer>(adam)) == 12);
  CHECK(optimizer_state_bytes_per_parameter(
            *std::make_unique<anvil::builtin::LionOptimizer>(anvil::builtin::LionOptions{})) == 4);
  anvil::builtin::SgdOptions sgd;
  CHECK(optimizer_state_bytes_per_parameter(*std::make_unique<anvil::builtin::SgdOptimizer>(sgd)) == 0);
  sgd.momentum = 0.9;
  CHECK(optimizer_state_bytes_per_parameter(*std::make_unique<anvil::builtin::SgdOptimizer>(sgd)) == 4);
}
