// The MoE decoder's footprint, which `anvil check` plans memory with, against the model it
// describes: exact total, active and per-block parameters, the decode cache, and the memory of
// a measured training step (tests/support/step_memory.h).
#include "moe_footprint.h"
#include "moe_model.h"
#include "support/step_memory.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

using anvil::FootprintQuery;
using anvil::ModelFootprint;
using anvil::builtin::MoEModelOptions;
using anvil::builtin::moe_footprint;

namespace {

constexpr std::int64_t kVocab = 512, kBatch = 2, kSeqLen = 128;

std::vector<std::pair<std::string, MoEModelOptions>> variants() {
  MoEModelOptions base;
  base.base.vocab_size = kVocab;
  base.base.d_model = 128;
  base.base.n_layers = 3;
  base.base.n_heads = 4;
  base.base.max_seq_len = kSeqLen;
  base.n_dense_layers = 1;
  base.n_routed_experts = 8;
  base.n_shared_experts = 1;
  base.top_k = 2;
  base.expert_hidden = 96;
  std::vector<std::pair<std::string, MoEModelOptions>> all{{"moe", base}};
  MoEModelOptions o = base;
  o.base.attention = "mla";
  o.base.kv_lora_rank = 32;
  o.n_shared_experts = 2;
  o.top_k = 3;
  all.emplace_back("latent attention, 2 shared, top-3", o);
  o = base;
  o.n_dense_layers = 0;
  o.n_shared_experts = 0;
  o.base.mtp_depth = 1;
  all.emplace_back("no dense layer, no shared expert, multi-token prediction", o);
  o = base;
  o.base.activation_checkpointing = true;
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

std::unique_ptr<anvil::builtin::MoEModel> build(const MoEModelOptions& o) {
  anvil::RunContext context;
  context.vocab_size = kVocab;
  context.seed = 3;
  return anvil::builtin::make_moe_model(o, context);
}

}  // namespace

TEST_CASE("moe footprint counts the total, active and per-block parameters", "[moe][footprint]") {
  for (const auto& [name, o] : variants()) {
    INFO(name);
    const ModelFootprint f = moe_footprint(o, query());
    auto model = build(o);
    CHECK(f.parameters == anvil::parameter_count(*model));
    // A token skips n_routed_experts - top_k experts of 3 * D * expert_hidden in each MoE layer.
    const std::int64_t skipped = (o.base.n_layers - o.n_dense_layers) * (o.n_routed_experts - o.top_k) * 3 *
                                 o.base.d_model * o.expert_hidden;
    CHECK(f.active_parameters == f.parameters - skipped);
    std::int64_t largest = 0;
    for (const auto& block : model->blocks()) {
      std::int64_t n = 0;
      for (const at::Tensor& p : block->parameters()) n += p.numel();
      largest = std::max(largest, n);
    }
    CHECK(f.largest_block_parameters == largest);

    anvil::test::AllocationMeter meter;
    const auto cache = model->new_cache(2, kSeqLen);
    CHECK(static_cast<double>(meter.live()) == Approx(f.kv_cache_bytes_per_token * 2 * kSeqLen));
  }
}

TEST_CASE("moe footprint's activations match a measured training step", "[moe][footprint]") {
  const at::Tensor tokens = at::randint(kVocab, {kBatch, kSeqLen + 1}, at::kLong);
  for (const at::ScalarType compute : {at::kFloat, at::kBFloat16}) {
    for (const auto& [name, o] : variants()) {
      INFO(name << " in " << c10::toString(compute));
      auto model = build(o);
      const anvil::test::StepMemory step = anvil::test::measure_step(*model, tokens, compute);
      const double estimate = anvil::test::footprint_step_bytes(moe_footprint(o, query(compute)), kBatch * kSeqLen);
      CHECK(step.peak >= 0.9 * estimate);
      CHECK(step.peak <= 1.1 * (estimate + step.gradients));
      if (!o.base.activation_checkpointing) CHECK(estimate == Approx(step.peak).epsilon(0.1));
    }
  }
}
