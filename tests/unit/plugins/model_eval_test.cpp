// Tests of the "bigram" architecture (shapes, initialisation, decode vs forward, and that SGD
// on the cross-entropy loss learns a fixed sequence) and of the "perplexity" evaluator.
// The one test file that includes <torch/nn/module.h> (through bigram_model.h).
#include "bigram_model.h"
#include "char_tokenizer.h"
#include "cross_entropy_loss.h"
#include "perplexity_evaluator.h"
#include "sgd_optimizer.h"
#include "support/step_memory.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using anvil::builtin::BigramModel;
using anvil::builtin::BigramOptions;
using anvil::builtin::PerplexityEvaluator;

namespace {

anvil::RunContext context_with(std::int64_t vocab, std::uint64_t seed = 42) {
  anvil::RunContext context;
  context.vocab_size = vocab;
  context.seed = seed;
  return context;
}

at::Tensor longs(std::vector<std::int64_t> values, std::int64_t rows) {
  return at::tensor(at::ArrayRef<std::int64_t>(values), at::kLong).reshape({rows, -1});
}

// Evaluation batches held in memory.
class VectorBatchSource final : public anvil::BatchSource {
 public:
  explicit VectorBatchSource(std::vector<anvil::Batch> batches) : batches_(std::move(batches)) {}
  bool next(anvil::Batch& batch) override {
    if (position_ >= batches_.size()) return false;
    batch = batches_[position_++];
    return true;
  }
  void reset() override { position_ = 0; }

 private:
  std::vector<anvil::Batch> batches_;
  std::size_t position_ = 0;
};

double metric(const anvil::Metrics& metrics, const std::string& name) {
  for (const auto& m : metrics)
    if (m.name == name) return m.value;
  FAIL("no metric " << name);
  return 0;
}

bool has_metric(const anvil::Metrics& metrics, const std::string& name) {
  for (const auto& m : metrics)
    if (m.name == name) return true;
  return false;
}

// A bigram model whose logits are all zero: a uniform distribution over the vocabulary.
std::unique_ptr<BigramModel> uniform_model(std::int64_t vocab) {
  auto model = anvil::builtin::make_bigram_model(0.02, context_with(vocab));
  at::NoGradGuard no_grad;
  model->net()->table->weight.zero_();
  return model;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// bigram

TEST_CASE("bigram forward shapes and model facts", "[model][bigram]") {
  auto model = anvil::builtin::make_bigram_model(0.02, context_with(11));
  const at::Tensor tokens = at::randint(0, 11, {2, 5}, at::kLong);
  const anvil::ModelOutput out = model->forward(tokens);
  CHECK(out.logits.sizes() == at::IntArrayRef{2, 5, 11});
  CHECK(out.logits.scalar_type() == at::kFloat);
  CHECK_FALSE(out.hidden.defined());
  CHECK(out.aux_losses.empty());
  CHECK(model->vocab_size() == 11);
  CHECK(model->blocks().empty());
  CHECK(model->max_seq_len() == 0);
  CHECK(model->flops_per_token(128) == 6.0 * 11);
  CHECK(anvil::parameter_count(*model) == 121);
  // logits[b, t] is the table row of tokens[b, t].
  const at::Tensor weight = model->net()->table->weight;
  CHECK(out.logits[1][3].equal(weight[tokens[1][3].item<std::int64_t>()]));
  CHECK_THROWS_AS(model->forward(at::zeros({5}, at::kLong)), anvil::Error);
}

TEST_CASE("bigram footprint is the table and a training step's logits and loss", "[model][bigram]") {
  constexpr std::int64_t V = 300, B = 4, T = 32;
  anvil::FootprintQuery query;
  query.vocab_size = V;
  query.seq_len = T;
  const anvil::ModelFootprint f = anvil::builtin::bigram_footprint(query);
  auto model = anvil::builtin::make_bigram_model(0.02, context_with(V));
  CHECK(f.parameters == anvil::parameter_count(*model));
  CHECK(f.active_parameters == V);  // one row per token, as flops_per_token = 6 V says
  CHECK(f.kv_cache_bytes_per_token == 0);
  const anvil::test::StepMemory step =
      anvil::test::measure_step(*model, at::randint(V, {B, T + 1}, at::kLong), at::kFloat);
  const double estimate = anvil::test::footprint_step_bytes(f, B * T);
  CHECK(step.peak >= 0.9 * estimate);
  CHECK(step.peak <= 1.1 * estimate + step.gradients);
}

TEST_CASE("bigram initialisation follows init_std and the run seed", "[model][bigram]") {
  auto a = anvil::builtin::make_bigram_model(0.5, context_with(64, 1));
  auto b = anvil::builtin::make_bigram_model(0.5, context_with(64, 1));
  auto c = anvil::builtin::make_bigram_model(0.5, context_with(64, 2));
  const at::Tensor wa = a->net()->table->weight;
  CHECK(wa.equal(b->net()->table->weight));
  CHECK_FALSE(wa.equal(c->net()->table->weight));
  CHECK(wa.std().item<double>() == Approx(0.5).epsilon(0.05));  // 4096 samples
  CHECK(std::abs(wa.mean().item<double>()) < 0.05);
}

TEST_CASE("bigram needs a known vocabulary and a positive init_std", "[model][bigram]") {
  CHECK_THROWS_WITH(anvil::builtin::make_bigram_model(0.02, context_with(0)),
                    Catch::Contains("vocab_size = 0"));
  CHECK_THROWS_AS(anvil::builtin::make_bigram_model(0.0, context_with(8)), anvil::Error);
  CHECK_THROWS_AS(BigramModel(BigramOptions(-3), context_with(8)), anvil::Error);
}

TEST_CASE("bigram decode equals the matching slice of forward", "[model][bigram]") {
  at::manual_seed(9);
  auto model = anvil::builtin::make_bigram_model(1.0, context_with(13));
  const at::Tensor tokens = at::randint(0, 13, {2, 6}, at::kLong);
  const at::Tensor full = model->forward(tokens).logits;  // [2, 6, 13]

  auto cache = model->new_cache(2, 6);
  CHECK(cache->length() == 0);
  const at::Tensor first = model->decode(tokens.slice(1, 0, 4), *cache);
  CHECK(cache->length() == 4);
  CHECK(first.equal(full.slice(1, 0, 4)));
  for (std::int64_t t = 4; t < 6; ++t) {
    const at::Tensor step = model->decode(tokens.slice(1, t, t + 1), *cache);  // [2, 1, 13]
    CHECK(step.sizes() == at::IntArrayRef{2, 1, 13});
    CHECK(step.equal(full.slice(1, t, t + 1)));
  }
  CHECK(cache->length() == 6);
  // Full cache, wrong batch.
  CHECK_THROWS_AS(model->decode(tokens.slice(1, 0, 1), *cache), anvil::Error);
  auto other = model->new_cache(3, 4);
  CHECK_THROWS_AS(model->decode(tokens.slice(1, 0, 1), *other), anvil::Error);
}

TEST_CASE("bigram learns a fixed sequence with sgd on cross-entropy", "[model][bigram][sgd]") {
  // The sequence 0 1 2 3 4 0 1 2 ...: each token determines the next one, so the loss can
  // approach 0. Gradient descent with a step size well under 2/L must lower it every step.
  constexpr std::int64_t V = 5;
  std::vector<std::int64_t> seq;
  for (int i = 0; i < 17; ++i) seq.push_back(i % V);
  anvil::Batch batch;
  batch.input = longs({seq.begin(), seq.end() - 1}, 1);   // [1, 16]
  batch.target = longs({seq.begin() + 1, seq.end()}, 1);  // [1, 16]

  auto model = anvil::builtin::make_bigram_model(0.02, context_with(V, 1234));
  anvil::builtin::CrossEntropyLoss loss({});
  anvil::builtin::SgdOptimizer sgd({5.0, 0.0, 0.0, false, 0.0});
  sgd.add_param_groups({anvil::ParamGroup{"all", model->module().parameters()}});

  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    sgd.zero_grad();
    const anvil::LossOutput out = loss.compute(model->forward(batch.input), batch);
    losses.push_back(out.loss.item<double>());
    out.loss.backward();
    sgd.step();
  }
  CHECK(losses.front() == Approx(std::log(5.0)).margin(0.02));  // near-uniform start
  for (std::size_t i = 1; i < losses.size(); ++i) {
    INFO("step " << i << ": " << losses[i - 1] << " -> " << losses[i]);
    CHECK(losses[i] < losses[i - 1]);
  }
  CHECK(losses.back() < 0.1);
  // The learned table predicts the successor of every token.
  const at::Tensor predicted = model->forward(longs({0, 1, 2, 3, 4}, 1)).logits.argmax(-1);
  CHECK(predicted.equal(longs({1, 2, 3, 4, 0}, 1)));
}

// ---------------------------------------------------------------------------------------------
// perplexity

TEST_CASE("perplexity of uniform logits equals the vocabulary size", "[eval][perplexity]") {
  at::manual_seed(21);
  constexpr std::int64_t V = 16;
  auto model = uniform_model(V);
  std::vector<anvil::Batch> batches;
  std::int64_t counted = 0, counted_first_two = 0;
  for (int i = 0; i < 3; ++i) {
    anvil::Batch batch;
    batch.input = at::randint(0, V, {2, 4}, at::kLong);
    batch.target = at::randint(0, V, {2, 4}, at::kLong);
    batch.target[i % 2][i] = -100;  // one masked position per batch
    counted += 7;
    if (i < 2) counted_first_two += 7;
    batches.push_back(batch);
  }
  VectorBatchSource data(batches);

  PerplexityEvaluator all({0});
  anvil::EvalInput input{*model, data};
  const anvil::Metrics metrics = all.evaluate(input);
  CHECK(metric(metrics, "perplexity") == Approx(16.0).margin(1e-4));
  CHECK(metric(metrics, "loss") == Approx(std::log(16.0)).margin(1e-6));
  CHECK(metric(metrics, "tokens") == static_cast<double>(counted));
  CHECK_FALSE(has_metric(metrics, "bits_per_byte"));  // no tokenizer

  // evaluate() starts from the first batch every time; max_batches limits the count.
  CHECK(metric(all.evaluate(input), "tokens") == static_cast<double>(counted));
  PerplexityEvaluator two({2});
  const anvil::Metrics limited = two.evaluate(input);
  CHECK(metric(limited, "tokens") == static_cast<double>(counted_first_two));
  CHECK(metric(limited, "perplexity") == Approx(16.0).margin(1e-4));
}

TEST_CASE("perplexity reports bits per byte of the decoded targets", "[eval][perplexity]") {
  // Bytes tokenizer: id 0 = "<|endoftext|>" (13 bytes), id 1 + b = byte b (1 byte).
  const anvil::builtin::CharTokenizer tokenizer;
  constexpr std::int64_t V = 257;
  REQUIRE(tokenizer.vocab_size() == V);
  auto model = uniform_model(V);

  anvil::Batch batch;
  batch.input = at::zeros({2, 4}, at::kLong);
  batch.target = longs({0, 1 + 'a', 1 + 'b', -100,    // 13 + 1 + 1 bytes
                        1 + 'c', -100, 0, 1 + 0xC3},  // 1 + 13 + 1 bytes (a lone invalid byte)
                       2);
  VectorBatchSource data({batch});
  anvil::EvalInput input{*model, data, &tokenizer};
  const anvil::Metrics metrics = PerplexityEvaluator({0}).evaluate(input);
  CHECK(metric(metrics, "tokens") == 6);
  CHECK(metric(metrics, "perplexity") == Approx(257.0).margin(1e-3));
  // total nats = 6 ln 257 over 30 bytes.
  const double expected = 6.0 * std::log(257.0) / std::log(2.0) / 30.0;
  CHECK(metric(metrics, "bits_per_byte") == Approx(expected).epsilon(1e-6));
}

TEST_CASE("perplexity takes the bytes of the source text from bytes_per_token", "[eval][perplexity]") {
  // The same batch as above, but the host says each target token stands for 2.5 bytes of text:
  // the decoded special tokens no longer count.
  const anvil::builtin::CharTokenizer tokenizer;
  auto model = uniform_model(257);
  anvil::Batch batch;
  batch.input = at::zeros({2, 4}, at::kLong);
  batch.target = longs({0, 1 + 'a', 1 + 'b', -100, 1 + 'c', -100, 0, 1 + 0xC3}, 2);
  VectorBatchSource data({batch});
  anvil::EvalInput input{*model, data, &tokenizer, /*bytes_per_token=*/2.5};
  const anvil::Metrics metrics = PerplexityEvaluator({0}).evaluate(input);
  CHECK(metric(metrics, "bits_per_byte") ==
        Approx(6.0 * std::log(257.0) / std::log(2.0) / 15.0).epsilon(1e-6));
  // Without a tokenizer too.
  anvil::EvalInput no_tokenizer{*model, data, nullptr, 2.5};
  CHECK(metric(PerplexityEvaluator({0}).evaluate(no_tokenizer), "bits_per_byte") ==
        Approx(6.0 * std::log(257.0) / std::log(2.0) / 15.0).epsilon(1e-6));
}

TEST_CASE("perplexity without counted targets is a data error", "[eval][perplexity]") {
  auto model = uniform_model(4);
  VectorBatchSource empty({});
  anvil::EvalInput input{*model, empty};
  CHECK_THROWS_AS(PerplexityEvaluator({0}).evaluate(input), anvil::DataError);

  anvil::Batch masked;
  masked.input = at::zeros({1, 3}, at::kLong);
  masked.target = at::full({1, 3}, -100, at::kLong);
  VectorBatchSource all_masked({masked});
  anvil::EvalInput input2{*model, all_masked};
  CHECK_THROWS_WITH(PerplexityEvaluator({0}).evaluate(input2), Catch::Contains("no target tokens"));
  CHECK_THROWS_AS(PerplexityEvaluator({-1}), anvil::Error);
}
