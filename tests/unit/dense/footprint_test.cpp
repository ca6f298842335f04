// The dense and hybrid decoders' footprints, which `anvil check` plans memory with, against the
// models they describe: exact parameter and decode-cache sizes, and the memory of a measured
// training step (tests/support/step_memory.h).
#include <anvil/nn/decoder/dense_footprint.h>
#include <anvil/nn/decoder/dense_model.h>
#include "support/step_memory.h"
#include "support/tiny_dense.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

using anvil::FootprintQuery;
using anvil::ModelFootprint;
using anvil::nn::DenseOptions;
using anvil::nn::dense_footprint;

namespace {

constexpr std::int64_t kVocab = 512, kBatch = 2, kSeqLen = 128;

std::vector<std::pair<std::string, DenseOptions>> variants() {
  DenseOptions base;
  base.vocab_size = kVocab;
  base.d_model = 128;
  base.n_layers = 2;
  base.n_heads = 4;
  base.max_seq_len = kSeqLen;
  std::vector<std::pair<std::string, DenseOptions>> all{{"dense", base}};
  DenseOptions o = base;
  o.n_heads = 8;
  o.n_kv_heads = 2;
  o.tie_embeddings = false;
  all.emplace_back("grouped-query, untied head", o);
  o = base;
  o.attention = "mla";
  o.q_lora_rank = 48;
  o.kv_lora_rank = 32;
  all.emplace_back("latent attention", o);
  o = base;
  o.mtp_depth = 1;
  all.emplace_back("multi-token prediction", o);
  o = base;
  o.local.window = 32;
  o.local.global_heads = 1;
  all.emplace_back("hybrid, global head", o);
  o = base;
  o.n_layers = 3;
  o.local.window = 32;
  o.local.global_every = 3;
  all.emplace_back("hybrid, global every 3", o);
  o = base;
  o.activation_checkpointing = true;
  all.emplace_back("checkpointed", o);
  return all;
}

FootprintQuery query(at::ScalarType compute = at::kFloat) {
  FootprintQuery q;
  q.vocab_size = kVocab;
  q.seq_len = kSeqLen;
  q.compute_dtype = compute;
  return q;
}

std::int64_t count(torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const at::Tensor& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST_CASE("dense footprint counts the parameters of the model it describes", "[dense][footprint]") {
  for (const auto& [name, o] : variants()) {
    INFO(name);
    const ModelFootprint f = dense_footprint(o, query());
    auto model = anvil::test::build_dense(o, at::kFloat, 1);
    CHECK(f.parameters == anvil::parameter_count(*model));
    CHECK(f.active_parameters == f.parameters);
    std::int64_t largest = 0;
    for (const auto& block : model->blocks()) largest = std::max(largest, count(*block));
    CHECK(f.largest_block_parameters == largest);
  }
}

TEST_CASE("dense footprint's decode cache is the cache the model allocates", "[dense][footprint]") {
  for (const auto& [name, o] : variants()) {
    INFO(name);
    const ModelFootprint f = dense_footprint(o, query());
    auto model = anvil::test::build_dense(o, at::kFloat, 1);
    anvil::test::AllocationMeter meter;
    const auto cache = model->new_cache(3, kSeqLen);
    CHECK(static_cast<double>(meter.live()) == Approx(f.kv_cache_bytes_per_token * 3 * kSeqLen));
  }
}

TEST_CASE("dense footprint's activations match a measured training step", "[dense][footprint]") {
  const at::Tensor tokens = at::randint(kVocab, {kBatch, kSeqLen + 1}, at::kLong);
  for (const at::ScalarType compute : {at::kFloat, at::kBFloat16}) {
    for (const auto& [name, o] : variants()) {
      INFO(name << " in " << c10::toString(compute));
      auto model = anvil::test::build_dense(o, at::kFloat, 1);
      const anvil::test::StepMemory step = anvil::test::measure_step(*model, tokens, compute);
      const double estimate = anvil::test::footprint_step_bytes(dense_footprint(o, query(compute)), kBatch * kSeqLen);
      // The plan adds the gradients, which are partly allocated by the time of the peak: the
      // measured peak lies between the estimate without them and with them.
      CHECK(step.peak >= 0.9 * estimate);
      CHECK(step.peak <= 1.1 * (estimate + step.gradients));
      if (!o.activation_checkpointing) CHECK(estimate == Approx(step.peak).epsilon(0.1));
    }
  }
}
