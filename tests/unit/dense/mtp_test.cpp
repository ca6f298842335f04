// Multi-token prediction (mtp_depth > 0) of the dense decoder: the loss written out by hand for
// depth 1, the main model unchanged by the modules, training-only losses with gradients into
// the modules, parameter counts, and the export leaving the modules out.
#include <anvil/nn/decoder/dense_model.h>
#include "support/tiny_dense.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include <catch2/catch.hpp>

#include <string>

using anvil::nn::DenseModel;
using anvil::nn::DenseOptions;

namespace {

DenseOptions mtp_options(std::int64_t depth) {
  DenseOptions o;
  o.vocab_size = 23;
  o.d_model = 32;
  o.n_layers = 2;
  o.n_heads = 4;
  o.ffn_hidden = 48;
  o.max_seq_len = 16;
  o.mtp_depth = depth;
  o.mtp_weight = 0.5;
  return o;
}

std::unique_ptr<DenseModel> make(const DenseOptions& o) {
  return anvil::test::build_dense(o, at::kDouble, 3);
}

}  // namespace

TEST_CASE("the depth-1 MTP loss is the cross-entropy of the token two ahead", "[dense][mtp]") {
  auto model = make(mtp_options(1));
  const at::Tensor tokens = at::randint(23, {3, 12}, at::kLong);
  const anvil::ModelOutput out = model->forward(tokens);
  REQUIRE(out.aux_losses.size() == 1);
  CHECK(out.aux_losses[0].first == "mtp");

  auto& net = *model->net();
  const at::Tensor trunk = net.trunk(tokens);
  auto& module = *net.mtp.at(0);
  // Position i combines h_i with the embedding of token i + 1 and predicts token i + 2.
  const at::Tensor joined = at::cat({module.hidden_norm->forward(trunk.narrow(1, 0, 10)),
                                     module.embed_norm->forward(net.tok_embeddings->forward(tokens.narrow(1, 1, 10)))},
                                    -1);
  const anvil::nn::RotaryTables rope = anvil::nn::rotary_tables(8, 10000.0, 0, 10, trunk.options());
  const at::Tensor h = module.block->forward(at::matmul(joined, module.proj->weight.t()), rope, false);
  const at::Tensor logits = at::matmul(net.norm->forward(h), net.tok_embeddings->weight.t());
  const at::Tensor expected =
      at::cross_entropy_loss(logits.reshape({-1, 23}), tokens.narrow(1, 2, 10).reshape({-1})) * 0.5;
  CHECK(out.aux_losses[0].second.item<double>() == Approx(expected.item<double>()).epsilon(1e-10));
}

TEST_CASE("MTP modules train but leave the main model and inference alone", "[dense][mtp]") {
  auto plain = make(mtp_options(0));
  auto with_mtp = make(mtp_options(2));
  const at::Tensor tokens = at::randint(23, {2, 9}, at::kLong);
  // Registered after everything else: the same seed gives the same main weights.
  const anvil::ModelOutput a = plain->forward(tokens), b = with_mtp->forward(tokens);
  CHECK(at::allclose(a.logits, b.logits, 1e-12, 1e-12));
  CHECK(a.aux_losses.empty());
  REQUIRE(b.aux_losses.size() == 1);
  b.aux_losses[0].second.backward();
  for (const auto& item : with_mtp->module().named_parameters()) {
    if (item.key().rfind("mtp.1.", 0) != 0) continue;
    INFO(item.key());
    CHECK(item.value().grad().abs().sum().item<double>() > 0);  // the deepest module learns
  }
  with_mtp->module().eval();
  CHECK(with_mtp->forward(tokens).aux_losses.empty());
  // The export is the main model only.
  for (const auto& [name, tensor] : with_mtp->to_hugging_face().tensors) CHECK(name.find("mtp") == std::string::npos);
}

TEST_CASE("MTP parameters and FLOPs are counted", "[dense][mtp]") {
  const DenseOptions o = mtp_options(2);
  auto model = make(o);
  const std::int64_t D = 32, attention = 4 * D * D, mlp = 3 * D * 48, head = 23 * D;
  CHECK(anvil::nn::mtp_matmul_parameters(o) == 2 * (2 * D * D + attention + mlp + head));
  // The head is shared: its second and third passes add FLOPs, not parameters. Norms: two per
  // block (2 main + 2 MTP), the final one, and two per module.
  CHECK(anvil::parameter_count(*model) ==
        anvil::nn::dense_matmul_parameters(o) - 2 * head + (2 * 4 + 1 + 2 * 2) * D);
  CHECK(model->flops_per_token(16) ==
        Approx(6.0 * anvil::nn::dense_matmul_parameters(o) + 12.0 * 4 * D * 16));
}
