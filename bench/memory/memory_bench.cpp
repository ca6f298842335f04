// The architectures' memory footprints, which `anvil check` plans runs with, against the memory
// LibTorch allocates in one training step (forward, cross-entropy, backward) of the model
// they describe, measured with a counting CPU allocator. Prints, per architecture and
// precision, the estimate (activations and weight copies; the plan adds the gradients, which
// are partly allocated by the time of the peak) and the measured peak above the weights.
//   memory_bench [--batch B] [--seq-len T]
#include <anvil/nn/decoder/dense_footprint.h>
#include <anvil/nn/decoder/dense_model.h>
#include "moe_footprint.h"
#include "moe_model.h"
#include "support/step_memory.h"

#include <ATen/Functions.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

using namespace anvil;
using namespace anvil::builtin;

struct Case {
  std::string name;
  std::function<std::unique_ptr<Model>(const RunContext&)> build;
  std::function<ModelFootprint(const FootprintQuery&)> footprint;
};

DenseOptions small_dense(std::int64_t vocab) {
  DenseOptions o;
  o.vocab_size = vocab;
  o.d_model = 256;
  o.n_layers = 4;
  o.n_heads = 4;
  o.max_seq_len = 512;
  return o;
}

Case dense_case(std::string name, DenseOptions o) {
  return {std::move(name), [o](const RunContext& c) -> std::unique_ptr<Model> { return make_dense_model(o, c); },
          [o](const FootprintQuery& q) { return dense_footprint(o, q); }};
}

Case moe_case(std::string name, MoEModelOptions o) {
  return {std::move(name), [o](const RunContext& c) -> std::unique_ptr<Model> { return make_moe_model(o, c); },
          [o](const FootprintQuery& q) { return moe_footprint(o, q); }};
}

std::vector<Case> cases(std::int64_t vocab) {
  std::vector<Case> all;
  all.push_back(dense_case("dense", small_dense(vocab)));
  DenseOptions o = small_dense(vocab);
  o.activation_checkpointing = true;
  all.push_back(dense_case("dense, checkpointed", o));
  o = small_dense(vocab);
  o.n_heads = 8;
  o.n_kv_heads = 2;
  all.push_back(dense_case("dense, gqa 8/2", o));
  o = small_dense(vocab);
  o.attention = "mla";
  o.kv_lora_rank = 64;
  all.push_back(dense_case("dense, mla", o));
  o = small_dense(vocab);
  o.mtp_depth = 1;
  all.push_back(dense_case("dense, mtp 1", o));
  o = small_dense(vocab);
  o.local.window = 64;
  o.local.global_heads = 1;
  all.push_back(dense_case("hybrid, global head", o));
  o = small_dense(vocab);
  o.local.window = 64;
  o.local.global_every = 2;
  all.push_back(dense_case("hybrid, global every 2", o));
  MoEModelOptions m;
  m.base = small_dense(vocab);
  m.n_routed_experts = 8;
  m.top_k = 2;
  m.expert_hidden = 176;
  all.push_back(moe_case("moe 8 x top-2", m));
  m.base.attention = "mla";
  m.base.kv_lora_rank = 64;
  all.push_back(moe_case("moe, mla", m));
  return all;
}

struct Measured {
  double estimate = 0;   // activations and weight copies
  double gradients = 0;  // what the plan adds on top
  double peak = 0;       // measured, above the weights
};

Measured measure(const Case& c, at::ScalarType compute, std::int64_t batch, std::int64_t seq_len,
                 std::int64_t vocab) {
  RunContext context;
  context.vocab_size = vocab;
  context.seed = 1;
  std::unique_ptr<Model> model = c.build(context);
  const test::StepMemory step =
      test::measure_step(*model, at::randint(vocab, {batch, seq_len + 1}, at::kLong), compute);
  FootprintQuery query;
  query.vocab_size = vocab;
  query.seq_len = seq_len;
  query.compute_dtype = compute;
  return {test::footprint_step_bytes(c.footprint(query), batch * seq_len), step.gradients, step.peak};
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t batch = 4, seq_len = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--batch") == 0) batch = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--seq-len") == 0) seq_len = std::atoll(argv[i + 1]);
  }
  const std::int64_t vocab = 2048;
  std::printf("one training step, batch %lld x %lld tokens, vocabulary %lld; memory above the weights\n",
              static_cast<long long>(batch), static_cast<long long>(seq_len), static_cast<long long>(vocab));
  std::printf("%-24s %-5s %12s %14s %12s %8s\n", "model", "dtype", "estimate MB", "+ gradients MB",
              "measured MB", "ratio");
  for (const at::ScalarType compute : {at::kFloat, at::kBFloat16}) {
    for (const Case& c : cases(vocab)) {
      const Measured m = measure(c, compute, batch, seq_len, vocab);
      std::printf("%-24s %-5s %12.1f %14.1f %12.1f %8.3f\n", c.name.c_str(),
                  compute == at::kFloat ? "fp32" : "bf16", m.estimate / 1e6, (m.estimate + m.gradients) / 1e6,
                  m.peak / 1e6, m.estimate / m.peak);
    }
  }
  return 0;
}
