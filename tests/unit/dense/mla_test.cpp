// Multi-head latent attention (attention = "mla") in the dense decoder: decoding through the
// latent cache equals the full pass, the cache is the latent and rotary key only (smaller than
// grouped-query attention's), parameters and FLOPs are counted, bad options are reported at
// their keys, and the Llama export refuses the model.
#include <anvil/nn/decoder/dense_model.h>
#include "support/tiny_dense.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <catch2/catch.hpp>

#include <map>
#include <string>

using anvil::nn::DenseModel;
using anvil::nn::DenseOptions;

namespace {

DenseOptions mla_options() {
  DenseOptions o;
  o.vocab_size = 23;
  o.d_model = 32;
  o.n_layers = 2;
  o.n_heads = 4;
  o.ffn_hidden = 48;
  o.max_seq_len = 16;
  o.attention = "mla";
  o.kv_lora_rank = 12;
  o.q_lora_rank = 10;  // rope width 4, nope and value widths 8 (the head width)
  return o;
}

std::unique_ptr<DenseModel> make(const DenseOptions& o) {
  return anvil::test::build_dense(o, at::kDouble, 4);
}

}  // namespace

TEST_CASE("MLA decoding through the latent cache equals the full pass", "[dense][mla]") {
  auto model = make(mla_options());
  model->module().eval();
  at::NoGradGuard no_grad;
  const at::Tensor tokens = at::randint(23, {2, 11}, at::kLong);
  const at::Tensor full = model->forward(tokens).logits;
  auto cache = model->new_cache(2, 16);
  std::vector<at::Tensor> steps{model->decode(tokens.narrow(1, 0, 3), *cache)};
  for (std::int64_t t = 3; t < 11; ++t) steps.push_back(model->decode(tokens.narrow(1, t, 1), *cache));
  CHECK(at::allclose(at::cat(steps, 1), full, 1e-9, 1e-11));

  // Per token and layer: 12 latent + 4 rotary values, against 2 * 4 heads * 8 for GQA.
  auto& layers = dynamic_cast<anvil::nn::DenseCache&>(*cache).slots();
  CHECK(layers[0].latent.latent.sizes() == std::vector<std::int64_t>{2, 16, 12});
  CHECK(layers[0].latent.rope_keys.sizes() == std::vector<std::int64_t>{2, 16, 4});
  CHECK_FALSE(layers[0].attention.keys.defined());
  DenseOptions gqa = mla_options();
  gqa.attention = "gqa";
  auto gqa_cache = make(gqa)->new_cache(2, 16);
  auto& gqa_layers = dynamic_cast<anvil::nn::DenseCache&>(*gqa_cache).slots();
  CHECK(layers[0].latent.latent.numel() + layers[0].latent.rope_keys.numel() <
        (gqa_layers[0].attention.keys.numel() + gqa_layers[0].attention.values.numel()) / 3);
}

TEST_CASE("MLA parameters and attention FLOPs are counted", "[dense][mla]") {
  const DenseOptions o = mla_options();
  auto model = make(o);
  const std::int64_t D = 32, H = 4;
  const std::int64_t attention = D * 10 + 10 * H * 12 + D * (12 + 4) + 12 * H * (8 + 8) + H * 8 * D;
  CHECK(anvil::nn::attention_matmul_parameters(o) == attention);
  // Norms: two per block, q_norm and kv_norm per layer, the final one.
  CHECK(anvil::parameter_count(*model) ==
        anvil::nn::dense_matmul_parameters(o) + 2 * (2 * D + 10 + 12) + D);
  CHECK(model->flops_per_token(16) ==
        Approx(6.0 * anvil::nn::dense_matmul_parameters(o) + 2 * 6.0 * H * (8 + 4 + 8) * 16));
  CHECK(model->module().named_parameters().contains("layers.1.attention.wkv_a.weight"));
}

TEST_CASE("MLA options are checked and the Llama export refuses the model", "[dense][mla]") {
  DenseOptions o = mla_options();
  o.kv_lora_rank = 0;
  o.qk_rope_head_dim = 3;
  std::map<std::string, std::string> problems;
  for (const auto& p : anvil::nn::dense_option_problems(o)) problems[p.key] = p.message;
  CHECK(problems.count("kv_lora_rank") == 1);
  CHECK(problems.count("qk_rope_head_dim") == 1);
  o = mla_options();
  o.attention = "mqa";
  CHECK(anvil::nn::dense_option_problems(o).at(0).key == "attention");
  auto model = make(mla_options());
  CHECK_THROWS_WITH(model->to_hugging_face(), Catch::Matchers::Contains("latent attention"));
}
