// What a run leaves and shows: the metrics file, the progress line, evaluation summaries, and
// sampled text (greedy decoding through the KV cache equals recomputing the whole sequence).
#include "metrics/metrics_file.h"
#include "metrics/train_progress.h"
#include "train/device_setup.h"
#include "train/sampler.h"
#include "train/trainer.h"

#include "char_tokenizer.h"
#include <anvil/nn/decoder/dense_model.h>

#include "support/temp_dir.h"
#include "support/tiny_dense.h"

#include <anvil/errors.h>

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>

using namespace anvil::core;

namespace {

std::vector<nlohmann::json> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::unique_ptr<anvil::nn::DenseModel> byte_model() { return anvil::test::tiny_dense(257, 40, 0, 3); }

}  // namespace

TEST_CASE("the metrics file holds one JSON object per record", "[train][metrics]") {
  anvil::test::TempDir dir;
  const auto path = dir.path / "run" / "metrics.jsonl";
  {
    MetricsFile file(path);
    file.record("router.imbalance", 1.25, 3);
    file.record("router.imbalance", 1.5, 30);
    file.write("train", 10, {{"loss", 2.5}, {"grad_norm", std::numeric_limits<double>::infinity()}});
    file.write("eval", 10, {{"perplexity.loss", 2.0}});
    file.write("sample", 10, {}, {{"text", "to be, or not"}});
    file.write("train", 30, {{"loss", 2.0}});
  }
  const auto lines = read_lines(path);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0]["event"] == "train");
  CHECK(lines[0]["step"] == 10);
  CHECK(lines[0]["loss"] == 2.5);
  CHECK(lines[0]["grad_norm"].is_null());          // JSON has no infinity
  CHECK(lines[0]["router.imbalance"] == 1.25);     // the component metric of step 3
  CHECK(lines[1]["perplexity.loss"] == 2.0);
  CHECK_FALSE(lines[1].contains("router.imbalance"));
  CHECK(lines[2]["text"] == "to be, or not");
  CHECK(lines[3]["router.imbalance"] == 1.5);
  // Keys keep their order: event, step, then the metrics as given.
  CHECK(lines[0].begin().key() == "event");

  CHECK_THROWS_AS(MetricsFile(dir.path / "run" / "metrics.jsonl" / "x"), anvil::Error);
}

TEST_CASE("the progress line shows step, loss, rate, MFU and ETA", "[train][metrics]") {
  StepView view;
  view.step = 120;
  view.total = 600;
  view.loss = 4.21304;
  view.lr = 2.94e-4;
  view.grad_norm = 0.8123;
  view.tokens_per_s = 2134.4;
  view.mfu = 0.412;
  view.eta_seconds = 192;
  CHECK(format_step(view) ==
        "step 120/600  loss 4.2130  lr 2.94e-04  gnorm 0.812  2,134 tok/s  MFU 41.2%  ETA 3m12s");
  view.mfu = -1;
  view.eta_seconds = -1;
  CHECK(format_step(view) == "step 120/600  loss 4.2130  lr 2.94e-04  gnorm 0.812  2,134 tok/s");
  CHECK(format_duration(45.4) == "45s");
  CHECK(format_duration(3600 + 5 * 60 + 1) == "1h05m");
}

TEST_CASE("evaluation results read as one line", "[train][metrics]") {
  CHECK(describe_eval({{"perplexity.loss", 5.01234}, {"perplexity.perplexity", 150.3},
                       {"perplexity.tokens", 1000}, {"perplexity.bits_per_byte", 2.034}}) ==
        "loss 5.0123, perplexity 150.3000, bits_per_byte 2.0340");
  CHECK(describe_eval({{"perplexity.loss", 5.0}, {"bleu.score", 0.25}}) ==
        "perplexity.loss 5.0000, bleu.score 0.2500");
}

TEST_CASE("greedy sampling through the KV cache equals full recomputation", "[train][sample]") {
  auto model = byte_model();
  const anvil::builtin::CharTokenizer tokenizer;
  SampleConfig config;
  config.prompt = "ab";
  config.max_new_tokens = 12;
  config.temperature = 0;
  const Sample sample = generate(*model, tokenizer, config, 1, c10::Device(c10::kCPU));
  REQUIRE(sample.tokens.size() == 12);
  CHECK(sample.text == tokenizer.decode(sample.tokens));

  // The same continuation, one full forward pass per token.
  at::NoGradGuard no_grad;
  model->module().eval();
  std::vector<std::int64_t> ids;
  for (std::int32_t id : tokenizer.encode("ab")) ids.push_back(id);
  for (std::size_t i = 0; i < 12; ++i) {
    const at::Tensor logits = model->forward(at::tensor(ids, at::kLong).reshape({1, -1})).logits;
    ids.push_back(logits[0][-1].argmax().item<std::int64_t>());
    CHECK(ids.back() == sample.tokens[i]);
  }
}

TEST_CASE("sampling is seeded and stops at the model's context", "[train][sample]") {
  auto model = byte_model();
  const anvil::builtin::CharTokenizer tokenizer;
  SampleConfig config;
  config.prompt = "xyz";
  config.max_new_tokens = 100;  // more than max_seq_len 40 allows
  config.temperature = 1.0;
  config.top_k = 5;
  const Sample a = generate(*model, tokenizer, config, 42, c10::Device(c10::kCPU));
  const Sample b = generate(*model, tokenizer, config, 42, c10::Device(c10::kCPU));
  const Sample c = generate(*model, tokenizer, config, 43, c10::Device(c10::kCPU));
  CHECK(a.tokens.size() == 37);
  CHECK(a.tokens == b.tokens);
  CHECK(a.tokens != c.tokens);
  CHECK(model->module().is_training());  // left as it was

  config.prompt = "";
  CHECK_THROWS_AS(generate(*model, tokenizer, config, 1, c10::Device(c10::kCPU)), anvil::Error);
  config.prompt = std::string(40, 'a');
  CHECK_THROWS_AS(generate(*model, tokenizer, config, 1, c10::Device(c10::kCPU)), anvil::Error);
}

TEST_CASE("devices resolve from the manifest's names", "[train][device]") {
  CHECK(resolve_device("cpu").is_cpu());
  CHECK(resolve_device("auto").is_cpu());  // no GPU in this test environment's LibTorch
  CHECK_THROWS_WITH(resolve_device("cuda"), Catch::Contains("no GPU is visible"));
  CHECK_THROWS_WITH(resolve_device("cuda:x"), Catch::Contains("is not a device"));
  CHECK_THROWS_WITH(resolve_device("tpu"), Catch::Contains("\"tpu\" is not a device"));
  CHECK(anvil::derive_seed(1, 1) != anvil::derive_seed(1, 2));
  CHECK(anvil::derive_seed(1, 1) == anvil::derive_seed(1, 1));
}
