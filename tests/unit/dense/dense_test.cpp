// Tests of the "dense" architecture: forward and backward against an independent PyTorch
// implementation (tests/fixtures/dense/reference.json, written by make_reference.py), shapes,
// causality, grouped-query attention, parameter and FLOP counts, KV-cache decoding, option
// checks, initialisation and activation checkpointing.
#include <anvil/nn/decoder/dense_model.h>

#include <anvil/errors.h>
#include <anvil/torch_compat.h>

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

using anvil::nn::DenseModel;
using anvil::nn::DenseOptions;

namespace {

// A small grouped-query configuration: 4 query heads sharing 2 key/value heads.
DenseOptions small_options() {
  DenseOptions o;
  o.vocab_size = 23;
  o.d_model = 32;
  o.n_layers = 2;
  o.n_heads = 4;
  o.n_kv_heads = 2;
  o.ffn_hidden = 48;
  o.max_seq_len = 16;
  return o;
}

std::unique_ptr<DenseModel> make_model(const DenseOptions& options,
                                       at::ScalarType dtype = at::kFloat, std::uint64_t seed = 42) {
  anvil::RunContext context;
  context.vocab_size = options.vocab_size;
  context.param_dtype = dtype;
  context.seed = seed;
  return anvil::nn::make_dense_model(options, context);
}

std::map<std::string, at::Tensor> params_by_name(anvil::Model& model) {
  std::map<std::string, at::Tensor> params;
  for (const auto& item : model.module().named_parameters()) params[item.key()] = item.value();
  return params;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// The loss whose gradients the tests compare: sum(logits * C), C[k] = cos(freq * k).
at::Tensor weighted_sum(const at::Tensor& logits, double freq = 0.37) {
  const at::Tensor weights = at::arange(logits.numel(), logits.options()).mul(freq).cos();
  return (logits * weights.view_as(logits)).sum();
}

// True when the autograd graph behind `tensor` contains a node called `name`.
bool graph_has(const at::Tensor& tensor, const std::string& name) {
  std::vector<std::shared_ptr<torch::autograd::Node>> pending{tensor.grad_fn()};
  std::set<torch::autograd::Node*> seen;
  while (!pending.empty()) {
    std::shared_ptr<torch::autograd::Node> node = pending.back();
    pending.pop_back();
    if (!node || !seen.insert(node.get()).second) continue;
    if (node->name() == name) return true;
    for (const torch::autograd::Edge& edge : node->next_edges()) pending.push_back(edge.function);
  }
  return false;
}

nlohmann::json load_reference() {
  std::ifstream in(std::string(ANVIL_SOURCE_DIR) + "/tests/fixtures/dense/reference.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

at::Tensor doubles(const nlohmann::json& values, const std::vector<std::int64_t>& shape) {
  const auto flat = values.get<std::vector<double>>();
  return at::tensor(at::ArrayRef<double>(flat), at::kDouble).view(shape);
}

}  // namespace

TEST_CASE("dense forward and gradients match the independent PyTorch reference",
          "[dense][reference]") {
  const nlohmann::json reference = load_reference();
  const double freq = reference["freq"];
  const double loss_freq = reference["loss_freq"];
  std::vector<std::int64_t> flat_tokens;
  for (const auto& row : reference["tokens"])
    for (const auto& token : row) flat_tokens.push_back(token.get<std::int64_t>());
  const at::Tensor tokens =
      at::tensor(at::ArrayRef<std::int64_t>(flat_tokens), at::kLong).view({2, -1});

  REQUIRE(reference["cases"].size() == 2);
  for (const nlohmann::json& c : reference["cases"]) {
    INFO("case " << c["name"].get<std::string>());
    const nlohmann::json& config = c["config"];
    DenseOptions o;
    o.vocab_size = config["vocab_size"];
    o.d_model = config["d_model"];
    o.n_layers = config["n_layers"];
    o.n_heads = config["n_heads"];
    o.n_kv_heads = config["n_kv_heads"];
    o.ffn_hidden = config["ffn_hidden"];
    o.rope_base = config["rope_base"];
    o.norm_eps = config["norm_eps"];
    o.tie_embeddings = config["tie_embeddings"];
    auto model = make_model(o, at::kDouble);

    // The model has exactly the reference's parameters, by name and shape.
    std::map<std::string, at::Tensor> params = params_by_name(*model);
    CHECK(params.size() == c["params"].size());
    {
      at::NoGradGuard no_grad;
      for (const nlohmann::json& spec : c["params"]) {
        const std::string name = spec["name"];
        INFO("parameter " << name);
        REQUIRE(params.count(name) == 1);
        const auto shape = spec["shape"].get<std::vector<std::int64_t>>();
        REQUIRE(params[name].sizes() == at::IntArrayRef(shape));
        const std::int64_t n = params[name].numel();
        params[name].copy_(at::arange(n, at::kDouble)
                               .mul(freq)
                               .add(spec["phase"].get<double>())
                               .sin()
                               .mul(spec["amp"].get<double>())
                               .add(spec["offset"].get<double>())
                               .view(shape));
      }
    }

    const at::Tensor logits = model->forward(tokens).logits;
    const at::Tensor expected = doubles(c["logits"], c["logits_shape"]);
    REQUIRE(logits.sizes() == expected.sizes());
    CHECK(max_abs_diff(logits, expected) < 1e-10);

    const at::Tensor loss = weighted_sum(logits, loss_freq);
    CHECK(loss.item<double>() == Approx(c["loss"].get<double>()).epsilon(1e-12));
    loss.backward();
    for (const auto& [name, grad] : c["grads"].items()) {
      INFO("gradient of " << name);
      const at::Tensor& param = params.at(name);
      REQUIRE(param.grad().defined());
      CHECK(max_abs_diff(param.grad(), doubles(grad, param.sizes().vec())) < 1e-10);
    }
  }
}

TEST_CASE("dense forward shapes and model facts", "[dense]") {
  const DenseOptions o = small_options();
  auto model = make_model(o);
  const at::Tensor tokens = at::randint(0, o.vocab_size, {2, 7}, at::kLong);
  const anvil::ModelOutput out = model->forward(tokens);
  CHECK(out.logits.sizes() == at::IntArrayRef{2, 7, 23});
  CHECK(out.hidden.sizes() == at::IntArrayRef{2, 7, 32});
  CHECK(out.logits.scalar_type() == at::kFloat);
  CHECK(out.aux_losses.empty());
  // hidden is the final norm's output: the tied head maps it to the logits.
  const at::Tensor embedding = params_by_name(*model).at("tok_embeddings.weight");
  CHECK(out.logits.allclose(at::matmul(out.hidden, embedding.t()), 1e-5, 1e-6));

  CHECK(model->vocab_size() == 23);
  CHECK(model->max_seq_len() == 16);
  const auto blocks = model->blocks();
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[1]->named_parameters().contains("attention.wq.weight"));
  CHECK(blocks[1].get() == model->module().named_modules()["layers.1"].get());

  CHECK_THROWS_AS(model->forward(at::zeros({5}, at::kLong)), anvil::Error);
  CHECK_THROWS_WITH(model->forward(at::zeros({1, 17}, at::kLong)),
                    Catch::Contains("exceed max_seq_len 16"));
}

TEST_CASE("dense logits do not depend on later tokens", "[dense]") {
  auto model = make_model(small_options(), at::kDouble);
  at::Tensor tokens = at::randint(0, 23, {1, 8}, at::kLong);
  const at::Tensor before = model->forward(tokens).logits;
  tokens[0][5] = (tokens[0][5].item<std::int64_t>() + 1) % 23;
  const at::Tensor after = model->forward(tokens).logits;
  CHECK(max_abs_diff(before.slice(1, 0, 5), after.slice(1, 0, 5)) < 1e-12);
  CHECK(max_abs_diff(before.slice(1, 5, 6), after.slice(1, 5, 6)) > 1e-6);
}

TEST_CASE("dense grouped-query attention equals multi-head attention with repeated heads",
          "[dense][gqa]") {
  // With n_kv_heads = k, query head h uses key/value head h / (n_heads / k); so a multi-head
  // model whose key/value matrices repeat each grouped head that many times is the same model.
  for (const std::int64_t kv_heads : {1, 2, 4}) {
    INFO("n_kv_heads " << kv_heads);
    DenseOptions grouped = small_options();
    grouped.n_kv_heads = kv_heads;
    DenseOptions full = grouped;
    full.n_kv_heads = 0;  // = n_heads
    auto gqa = make_model(grouped, at::kDouble, 1);
    auto mha = make_model(full, at::kDouble, 2);

    const std::int64_t repeat = full.n_heads / kv_heads;
    const std::int64_t hd = full.head_dim();
    std::map<std::string, at::Tensor> source = params_by_name(*gqa);
    CHECK(source.at("layers.0.attention.wk.weight").sizes() ==
          at::IntArrayRef{kv_heads * hd, full.d_model});
    {
      at::NoGradGuard no_grad;
      for (auto& [name, param] : params_by_name(*mha)) {
        at::Tensor value = source.at(name);
        if (name.find("attention.wk") != std::string::npos ||
            name.find("attention.wv") != std::string::npos)
          value = value.view({kv_heads, hd, full.d_model})
                      .repeat_interleave(repeat, 0)
                      .reshape({full.n_heads * hd, full.d_model});
        param.copy_(value);
      }
    }
    const at::Tensor tokens = at::randint(0, 23, {2, 9}, at::kLong);
    CHECK(max_abs_diff(gqa->forward(tokens).logits, mha->forward(tokens).logits) < 1e-12);
  }
}

TEST_CASE("dense parameter count follows the closed form, tied and untied", "[dense]") {
  DenseOptions o;
  o.vocab_size = 100;
  o.d_model = 64;
  o.n_layers = 3;
  o.n_heads = 4;
  o.n_kv_heads = 2;
  o.max_seq_len = 32;
  // ffn_hidden 0: 8/3 * 64 = 170.7, rounded up to a multiple of 64.
  REQUIRE(o.ffn_width() == 192);
  const std::int64_t V = 100, D = 64, L = 3, kv_width = 2 * 16, F = 192;
  const std::int64_t per_layer = 2 * D                           // two norms
                                 + 2 * D * D + 2 * D * kv_width  // wq, wo, wk, wv
                                 + 3 * D * F;                    // w1, w2, w3
  const std::int64_t tied = V * D + L * per_layer + D;
  CHECK(anvil::parameter_count(*make_model(o)) == tied);
  o.tie_embeddings = false;
  CHECK(anvil::parameter_count(*make_model(o)) == tied + V * D);
  CHECK(params_by_name(*make_model(o)).count("output.weight") == 1);

  o.ffn_hidden = 100;
  CHECK(o.ffn_width() == 100);
  o.ffn_hidden = 0;
  o.ffn_multiplier = 4.0;
  o.ffn_multiple_of = 1;
  CHECK(o.ffn_width() == 256);
}

TEST_CASE("dense flops per token are 6N plus the attention term", "[dense]") {
  // The "tiny" config: SwiGLU width 8/3 * 256 = 682.7 -> 704.
  DenseOptions o;
  o.vocab_size = 4096;
  auto model = make_model(o);
  const double matmul_params = 4 * (4.0 * 256 * 256 + 3.0 * 256 * 704) + 4096.0 * 256;
  REQUIRE(matmul_params == 4259840.0);
  CHECK(model->flops_per_token(256) == 6 * matmul_params + 12.0 * 4 * 256 * 256);
  CHECK(model->flops_per_token(256) == 28704768.0);
  // Untying adds parameters but not FLOPs: the head's matmul runs either way.
  o.tie_embeddings = false;
  CHECK(make_model(o)->flops_per_token(256) == 28704768.0);
}

TEST_CASE("dense decode with a KV cache equals the full forward pass", "[dense][decode]") {
  DenseOptions o = small_options();
  o.init_std = 0.2;  // sharper attention, so that a wrong position or mask would show
  auto model = make_model(o, at::kDouble, 3);
  const at::Tensor tokens = at::randint(0, 23, {2, 10}, at::kLong);
  const at::Tensor full = model->forward(tokens).logits;

  auto cache = model->new_cache(2, 10);
  CHECK(cache->length() == 0);
  const at::Tensor prompt = model->decode(tokens.slice(1, 0, 3), *cache);
  CHECK(cache->length() == 3);
  CHECK(max_abs_diff(prompt, full.slice(1, 0, 3)) < 1e-12);
  for (std::int64_t t = 3; t < 8; ++t) {
    INFO("position " << t);
    const at::Tensor step = model->decode(tokens.slice(1, t, t + 1), *cache);
    CHECK(step.sizes() == at::IntArrayRef{2, 1, 23});
    CHECK(max_abs_diff(step, full.slice(1, t, t + 1)) < 1e-12);
  }
  // Several tokens after cached ones need the causal mask shifted by the cache length.
  const at::Tensor chunk = model->decode(tokens.slice(1, 8, 10), *cache);
  CHECK(max_abs_diff(chunk, full.slice(1, 8, 10)) < 1e-12);
  CHECK(cache->length() == 10);
  CHECK_FALSE(chunk.requires_grad());

  CHECK_THROWS_WITH(model->decode(tokens.slice(1, 0, 1), *cache),
                    Catch::Contains("exceeds the cache's max_len"));
  auto other = model->new_cache(3, 4);
  CHECK_THROWS_WITH(model->decode(tokens.slice(1, 0, 1), *other),
                    Catch::Contains("the cache was made for 3"));
  CHECK_THROWS_AS(model->new_cache(2, 17), anvil::Error);
  CHECK_THROWS_AS(model->new_cache(0, 4), anvil::Error);
}

TEST_CASE("dense rejects inconsistent options with anvil errors", "[dense][options]") {
  anvil::RunContext context;
  const auto invalid = [](auto edit) {
    DenseOptions o = small_options();
    edit(o);
    return o;
  };
  CHECK_THROWS_WITH(DenseModel(invalid([](DenseOptions& o) { o.d_model = 30; }), context),
                    Catch::Contains("n_heads must divide d_model (30), got 4"));
  CHECK_THROWS_WITH(DenseModel(invalid([](DenseOptions& o) { o.n_kv_heads = 3; }), context),
                    Catch::Contains("n_kv_heads must divide n_heads (4), got 3"));
  CHECK_THROWS_WITH(DenseModel(invalid([](DenseOptions& o) { o.d_model = 12; }), context),
                    Catch::Contains("even head width"));
  CHECK_THROWS_AS(DenseModel(invalid([](DenseOptions& o) { o.dropout = 1.0; }), context),
                  anvil::Error);
  CHECK_THROWS_AS(DenseModel(invalid([](DenseOptions& o) { o.init_std = 0.0; }), context),
                  anvil::Error);
  // Every problem is reported, each under its manifest key.
  const auto problems = anvil::nn::dense_option_problems(invalid([](DenseOptions& o) {
    o.n_kv_heads = 3;
    o.rope_base = 0;
    o.norm_eps = -1;
  }));
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].key == "n_kv_heads");
  CHECK(problems[1].key == "rope_base");
  CHECK(problems[2].key == "norm_eps");
  CHECK(anvil::nn::dense_option_problems(small_options()).empty());
  // The vocabulary comes from the run's tokenizer.
  CHECK_THROWS_WITH(anvil::nn::make_dense_model(small_options(), context),
                    Catch::Contains("vocab_size = 0"));
}

TEST_CASE("dense initialisation follows init_std with scaled residual projections",
          "[dense][init]") {
  DenseOptions o;
  o.vocab_size = 512;
  o.ffn_hidden = 512;
  o.init_std = 0.02;
  auto model = make_model(o, at::kFloat, 7);
  std::map<std::string, at::Tensor> params = params_by_name(*model);
  const double residual_std = 0.02 / std::sqrt(2.0 * 4);
  const auto std_of = [&](const std::string& name) { return params.at(name).std().item<double>(); };
  CHECK(std_of("tok_embeddings.weight") == Approx(0.02).epsilon(0.03));
  CHECK(std_of("layers.0.attention.wq.weight") == Approx(0.02).epsilon(0.03));
  CHECK(std_of("layers.3.feed_forward.w1.weight") == Approx(0.02).epsilon(0.03));
  CHECK(std_of("layers.0.attention.wo.weight") == Approx(residual_std).epsilon(0.03));
  CHECK(std_of("layers.2.feed_forward.w2.weight") == Approx(residual_std).epsilon(0.03));
  CHECK(std::abs(params.at("layers.1.attention.wk.weight").mean().item<double>()) < 1e-3);
  CHECK(params.at("layers.1.ffn_norm.weight").eq(1).all().item<bool>());
  CHECK(params.at("norm.weight").eq(1).all().item<bool>());

  // The run seed alone decides the weights.
  const at::Tensor wq = params.at("layers.0.attention.wq.weight");
  CHECK(wq.equal(params_by_name(*make_model(o, at::kFloat, 7)).at("layers.0.attention.wq.weight")));
  CHECK_FALSE(
      wq.equal(params_by_name(*make_model(o, at::kFloat, 8)).at("layers.0.attention.wq.weight")));
}

TEST_CASE("dense activation checkpointing gives the gradients of the plain backward",
          "[dense][checkpoint]") {
  const at::Tensor tokens = at::randint(0, 23, {2, 9}, at::kLong);
  for (const double dropout : {0.0, 0.2}) {
    INFO("dropout " << dropout);
    DenseOptions o = small_options();
    o.dropout = dropout;
    auto plain = make_model(o, at::kDouble, 5);
    o.activation_checkpointing = true;
    auto checkpointed = make_model(o, at::kDouble, 5);

    // Same global seed before each pass: the recomputation must redraw the same dropout masks.
    at::manual_seed(11);
    const at::Tensor plain_loss = weighted_sum(plain->forward(tokens).logits);
    plain_loss.backward();
    at::manual_seed(11);
    const at::Tensor logits = checkpointed->forward(tokens).logits;
    CHECK(graph_has(logits, "anvil::CheckpointBackward"));
    const at::Tensor loss = weighted_sum(logits);
    CHECK(loss.item<double>() == Approx(plain_loss.item<double>()).epsilon(1e-12));

    // torch::autograd::grad works too: the gradients flow through the graph.
    std::vector<std::string> names;
    std::vector<at::Tensor> params;
    for (auto& [name, param] : params_by_name(*checkpointed)) {
      names.push_back(name);
      params.push_back(param);
    }
    const std::vector<at::Tensor> grads = torch::autograd::grad({loss}, params);
    const std::map<std::string, at::Tensor> reference = params_by_name(*plain);
    for (std::size_t i = 0; i < names.size(); ++i) {
      INFO("gradient of " << names[i]);
      CHECK(max_abs_diff(grads[i], reference.at(names[i]).grad()) < 1e-12);
    }
  }
  // Not in evaluation mode or without autograd: nothing to recompute.
  DenseOptions o = small_options();
  o.activation_checkpointing = true;
  auto model = make_model(o);
  model->module().eval();
  CHECK_FALSE(graph_has(model->forward(tokens).logits, "anvil::CheckpointBackward"));
}

TEST_CASE("dense activation checkpointing recomputes in the forward pass's autocast precision",
          "[dense][checkpoint]") {
  // The trainer runs backward outside its autocast scope; a block recomputed in float32 would
  // give gradients of a different function than the bf16 forward pass computed.
  const at::Tensor tokens = at::randint(0, 23, {2, 9}, at::kLong);
  DenseOptions o = small_options();
  auto plain = make_model(o, at::kFloat, 5);
  o.activation_checkpointing = true;
  auto checkpointed = make_model(o, at::kFloat, 5);
  const anvil::AutocastState bf16{true, at::kBFloat16}, off{false, at::kBFloat16};
  for (DenseModel* model : {plain.get(), checkpointed.get()}) {
    at::Tensor loss;
    {
      anvil::AutocastGuard autocast(bf16, off);
      loss = weighted_sum(model->forward(tokens).logits.to(at::kFloat));
    }
    CHECK_FALSE(anvil::autocast_state(false).enabled);
    loss.backward();
  }
  const std::map<std::string, at::Tensor> reference = params_by_name(*plain);
  for (auto& [name, param] : params_by_name(*checkpointed)) {
    INFO("gradient of " << name);
    CHECK(max_abs_diff(param.grad(), reference.at(name).grad()) < 1e-6);
  }
}
