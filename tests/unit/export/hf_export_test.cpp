// `anvil export` to a Hugging Face Llama folder: the dense model's name mapping and config, the
// folder's files, what an independent standard-library reader sees in model.safetensors, and
// the logits of an independent Llama forward pass written from the Transformers semantics
// (tests/fixtures/export/hf_llama_reference.py), which must equal the dense model's own.
#include "bpe_tokenizer.h"
#include "char_tokenizer.h"
#include "checkpoint/safetensors.h"
#include <anvil/nn/decoder/dense_model.h>
#include "export/hf_export.h"
#include "plugin/plugin_host.h"
#include "support/temp_dir.h"

#include <anvil/errors.h>
#include <anvil/hf_export.h>

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using anvil::nn::DenseModel;
using anvil::nn::DenseOptions;
using anvil::core::export_hugging_face;
using anvil::core::HuggingFaceExportOptions;
using anvil::core::HuggingFaceExportSummary;
using Catch::Matchers::Contains;

namespace {

const std::string kReader = ANVIL_SOURCE_DIR "/tests/fixtures/checkpoint/read_safetensors.py";
const std::string kReference = ANVIL_SOURCE_DIR "/tests/fixtures/export/hf_llama_reference.py";

// ---------------------------------------------------------------------------------------------
// Models, tokenizers, files

DenseOptions options_with(std::int64_t vocab, bool tied, std::int64_t kv_heads) {
  DenseOptions o;
  o.vocab_size = vocab;
  o.d_model = 32;
  o.n_layers = 2;
  o.n_heads = 4;
  o.n_kv_heads = kv_heads;
  o.ffn_hidden = 48;
  o.max_seq_len = 32;
  o.rope_base = 500.0;  // a small base turns the angles fast, so a RoPE mistake shows
  o.norm_eps = 1e-6;
  o.tie_embeddings = tied;
  return o;
}

std::unique_ptr<DenseModel> make_model(const DenseOptions& options, std::uint64_t seed = 7) {
  anvil::RunContext context;
  context.vocab_size = options.vocab_size;
  context.seed = seed;
  auto model = anvil::nn::make_dense_model(options, context);
  // The default init makes small logits; larger weights make every difference visible, and
  // norm gains other than 1 make their placement matter.
  at::NoGradGuard no_grad;
  for (auto& p : model->module().parameters()) {
    if (p.dim() == 1)
      p.uniform_(0.5, 1.5);
    else
      p.mul_(8.0);
  }
  return model;
}

const std::vector<std::string> kCorpus = {
    "To be, or not to be, that is the question:",
    "Whether 'tis nobler in the mind to suffer",
    "The slings and arrows of outrageous fortune,",
    "Or to take arms against a sea of troubles",
    "And by opposing end them. To die, to sleep;",
};

std::unique_ptr<anvil::builtin::BpeTokenizer> trained_bpe() {
  anvil::builtin::BpeTokenizerOptions o;
  o.vocab_size = 300;
  o.threads = 1;
  auto tokenizer = std::make_unique<anvil::builtin::BpeTokenizer>(o);
  std::vector<std::string> documents;
  for (int i = 0; i < 4; ++i) documents.insert(documents.end(), kCorpus.begin(), kCorpus.end());
  anvil::VectorTextSource source(documents);
  tokenizer->train(source);
  return tokenizer;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }

std::set<std::string> folder_entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

// The dense parameter behind each Hugging Face name.
std::map<std::string, at::Tensor> params_by_hf_name(DenseModel& model) {
  std::map<std::string, at::Tensor> params;
  for (const auto& item : model.module().named_parameters())
    params[anvil::nn::dense_hf_name(item.key())] = item.value();
  return params;
}

std::vector<std::string> expected_hf_names(std::int64_t layers, bool tied) {
  std::vector<std::string> names = {"model.embed_tokens.weight", "model.norm.weight"};
  for (std::int64_t i = 0; i < layers; ++i)
    for (const char* suffix : {"input_layernorm", "self_attn.q_proj", "self_attn.k_proj",
                               "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",
                               "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"})
      names.push_back("model.layers." + std::to_string(i) + "." + suffix + ".weight");
  if (!tied) names.push_back("lm_head.weight");
  return names;
}

std::string bytes_of(const at::Tensor& tensor) {
  const at::Tensor host = tensor.cpu().contiguous();
  return std::string(static_cast<const char*>(host.data_ptr()), host.nbytes());
}

HuggingFaceExportOptions export_options(at::ScalarType dtype = at::kFloat) {
  HuggingFaceExportOptions o;
  o.architecture = "dense";
  o.tokenizer = "bpe";
  o.dtype = dtype;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Processes

std::pair<std::string, bool> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  return {output, ::pclose(pipe) == 0};
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// A Python interpreter with torch (the Debian python3-torch package): $ANVIL_TEST_PYTHON,
// /usr/bin/python3 or python3 on PATH; "" when none has it.
const std::string& python_with_torch() {
  static const std::string found = [] {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("ANVIL_TEST_PYTHON")) candidates.emplace_back(env);
    candidates.insert(candidates.end(), {"/usr/bin/python3", "python3"});
    for (const std::string& python : candidates)
      if (std::system((python + " -c 'import torch' > /dev/null 2>&1").c_str()) == 0) return python;
    return std::string();
  }();
  return found;
}

// Any python3, for the standard-library reader.
bool have_python() { return std::system("command -v python3 > /dev/null 2>&1") == 0; }

std::string join_ids(const std::vector<std::int64_t>& ids) {
  std::string text;
  for (const std::int64_t id : ids) text += (text.empty() ? "" : ",") + std::to_string(id);
  return text;
}

at::Tensor dense_logits(DenseModel& model, const std::vector<std::int64_t>& ids) {
  at::NoGradGuard no_grad;
  model.module().eval();
  const at::Tensor tokens = at::tensor(ids, at::kLong).view({1, -1});
  return model.forward(tokens).logits[0];  // [T, V]
}

at::Tensor reference_logits(const fs::path& folder, const std::vector<std::int64_t>& ids) {
  const auto [output, ok] = run(python_with_torch() + " " + quoted(kReference) + " " +
                                quoted(folder.string()) + " logits " + join_ids(ids) + " 2>&1");
  INFO(output);
  REQUIRE(ok);
  const nlohmann::json rows = nlohmann::json::parse(output)["logits"];
  std::vector<double> values;
  for (const auto& row : rows)
    for (const auto& v : row) values.push_back(v.get<double>());
  return at::tensor(values, at::kDouble).view({static_cast<std::int64_t>(rows.size()), -1});
}

std::uint64_t fnv1a64(const std::string& bytes) {
  std::uint64_t value = 0xcbf29ce484222325ULL;
  for (const unsigned char byte : bytes) value = (value ^ byte) * 0x100000001b3ULL;
  return value;
}

// The line read_safetensors.py prints for a tensor: NAME DTYPE [D0,...] SUM FNV.
std::string reader_line(const std::string& name, const std::string& dtype, const at::Tensor& t) {
  const std::string bytes = bytes_of(t);
  std::uint64_t sum = 0;
  for (const unsigned char byte : bytes) sum += byte;
  std::string shape;
  for (const std::int64_t d : t.sizes()) shape += (shape.empty() ? "" : ",") + std::to_string(d);
  char fnv[17];
  std::snprintf(fnv, sizeof fnv, "%016llx", static_cast<unsigned long long>(fnv1a64(bytes)));
  return name + " " + dtype + " [" + shape + "] " + std::to_string(sum % (1ULL << 32)) + " " + fnv +
         "\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The dense model's side

TEST_CASE("dense to_hugging_face gives every parameter once under its Llama name",
          "[export][dense]") {
  for (const bool tied : {true, false}) {
    INFO("tie_embeddings = " << tied);
    auto model = make_model(options_with(40, tied, 2));
    const anvil::HuggingFaceModel hf =
        dynamic_cast<const anvil::HuggingFaceExportable&>(*model).to_hugging_face();

    std::vector<std::string> names;
    for (const auto& [name, tensor] : hf.tensors) names.push_back(name);
    std::vector<std::string> expected = expected_hf_names(2, tied);
    std::sort(names.begin(), names.end());
    std::sort(expected.begin(), expected.end());
    CHECK(names == expected);

    // Each one is the parameter itself (same storage), with the shape Llama expects.
    const auto params = params_by_hf_name(*model);
    REQUIRE(params.size() == hf.tensors.size());
    for (const auto& [name, tensor] : hf.tensors) {
      INFO(name);
      REQUIRE(params.count(name) == 1);
      CHECK(tensor.data_ptr() == params.at(name).data_ptr());
      CHECK_FALSE(tensor.requires_grad());
    }
    std::map<std::string, std::vector<std::int64_t>> shapes;
    for (const auto& [name, tensor] : hf.tensors) shapes[name] = tensor.sizes().vec();
    CHECK(shapes["model.embed_tokens.weight"] == std::vector<std::int64_t>{40, 32});
    CHECK(shapes["model.layers.1.self_attn.q_proj.weight"] == std::vector<std::int64_t>{32, 32});
    CHECK(shapes["model.layers.1.self_attn.k_proj.weight"] == std::vector<std::int64_t>{16, 32});
    CHECK(shapes["model.layers.1.self_attn.v_proj.weight"] == std::vector<std::int64_t>{16, 32});
    CHECK(shapes["model.layers.0.mlp.gate_proj.weight"] == std::vector<std::int64_t>{48, 32});
    CHECK(shapes["model.layers.0.mlp.down_proj.weight"] == std::vector<std::int64_t>{32, 48});
    CHECK(shapes["model.norm.weight"] == std::vector<std::int64_t>{32});
    if (!tied) CHECK(shapes["lm_head.weight"] == std::vector<std::int64_t>{40, 32});
  }
}

TEST_CASE("dense_hf_name maps the block names and refuses unknown ones", "[export][dense]") {
  using anvil::nn::dense_hf_name;
  CHECK(dense_hf_name("tok_embeddings.weight") == "model.embed_tokens.weight");
  CHECK(dense_hf_name("layers.12.attention.wq.weight") ==
        "model.layers.12.self_attn.q_proj.weight");
  CHECK(dense_hf_name("layers.0.attention_norm.weight") == "model.layers.0.input_layernorm.weight");
  CHECK(dense_hf_name("layers.3.ffn_norm.weight") ==
        "model.layers.3.post_attention_layernorm.weight");
  CHECK(dense_hf_name("layers.3.feed_forward.w1.weight") == "model.layers.3.mlp.gate_proj.weight");
  CHECK(dense_hf_name("layers.3.feed_forward.w2.weight") == "model.layers.3.mlp.down_proj.weight");
  CHECK(dense_hf_name("layers.3.feed_forward.w3.weight") == "model.layers.3.mlp.up_proj.weight");
  CHECK(dense_hf_name("output.weight") == "lm_head.weight");
  for (const char* bad : {"layers.x.attention.wq.weight", "layers..attention.wq.weight",
                          "layers.1.attention.wq.bias", "norm.bias", "layers.1"})
    CHECK_THROWS_WITH(dense_hf_name(bad), Contains("has no Hugging Face Llama name"));
}

TEST_CASE("dense_hf_config holds the Llama hyper-parameters", "[export][dense]") {
  DenseOptions o = options_with(40, false, 2);
  o.ffn_hidden = 0;  // derived: 8/3 * 32 = 85.3, rounded up to a multiple of 64
  const nlohmann::json config = nlohmann::json::parse(anvil::nn::dense_hf_config(o));
  CHECK(config["architectures"] == nlohmann::json::array({"LlamaForCausalLM"}));
  CHECK(config["model_type"] == "llama");
  CHECK(config["vocab_size"] == 40);
  CHECK(config["hidden_size"] == 32);
  CHECK(config["intermediate_size"] == 128);
  CHECK(config["num_hidden_layers"] == 2);
  CHECK(config["num_attention_heads"] == 4);
  CHECK(config["num_key_value_heads"] == 2);
  CHECK(config["head_dim"] == 8);
  CHECK(config["hidden_act"] == "silu");
  CHECK(config["max_position_embeddings"] == 32);
  CHECK(config["rms_norm_eps"].get<double>() == 1e-6);
  CHECK(config["rope_theta"].get<double>() == 500.0);
  CHECK(config["tie_word_embeddings"] == false);
  CHECK(config["attention_bias"] == false);
  CHECK(config["mlp_bias"] == false);
  CHECK(config["rope_scaling"].is_null());
  o.n_kv_heads = 0;  // 0 means n_heads
  o.tie_embeddings = true;
  const nlohmann::json mha = nlohmann::json::parse(anvil::nn::dense_hf_config(o));
  CHECK(mha["num_key_value_heads"] == 4);
  CHECK(mha["tie_word_embeddings"] == true);
}

// ---------------------------------------------------------------------------------------------
// The folder

TEST_CASE("export writes config, weights and the bpe tokenizer as Hugging Face files", "[export]") {
  anvil::test::TempDir dir("export");
  const auto tokenizer = trained_bpe();
  const std::int64_t vocab = tokenizer->vocab_size();
  auto model = make_model(options_with(vocab, true, 2));
  const fs::path out = dir.path / "hf";
  const HuggingFaceExportSummary summary =
      export_hugging_face(*model, *tokenizer, out, export_options());

  CHECK(folder_entries(out) == std::set<std::string>{"config.json", "generation_config.json",
                                                     "model.safetensors", "tokenizer.json",
                                                     "tokenizer_config.json"});
  CHECK(folder_entries(dir.path) == std::set<std::string>{"hf"});  // no .partial left behind
  CHECK(summary.tokenizer_json);
  CHECK(summary.warnings.empty());
  CHECK(summary.tensors == 2 + 2 * 9);
  CHECK(summary.elements == anvil::parameter_count(*model));
  CHECK(summary.weight_bytes == fs::file_size(out / "model.safetensors"));

  // config.json: the model's, with dtype and the end-of-text id (the bpe tokenizer's id 0).
  const nlohmann::json config = read_json(out / "config.json");
  CHECK(config["model_type"] == "llama");
  CHECK(config["vocab_size"] == vocab);
  CHECK(config["torch_dtype"] == "float32");
  CHECK(config["bos_token_id"] == 0);
  CHECK(config["eos_token_id"] == 0);
  CHECK(read_json(out / "generation_config.json") ==
        nlohmann::json::parse(R"({"bos_token_id": 0, "eos_token_id": 0})"));
  const nlohmann::json tokenizer_config = read_json(out / "tokenizer_config.json");
  CHECK(tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast");
  CHECK(tokenizer_config["eos_token"] == "<|endoftext|>");
  CHECK(tokenizer_config["model_max_length"] == 32);

  // model.safetensors: every tensor, fp32, byte for byte the parameter; "format": "pt".
  const auto contents = anvil::core::read_safetensors(out / "model.safetensors");
  CHECK(contents.metadata == std::map<std::string, std::string>{{"format", "pt"}});
  const auto params = params_by_hf_name(*model);
  REQUIRE(contents.tensors.size() == params.size());
  for (const auto& [name, tensor] : contents.tensors) {
    INFO(name);
    REQUIRE(params.count(name) == 1);
    CHECK(tensor.scalar_type() == at::kFloat);
    CHECK(tensor.sizes() == params.at(name).sizes());
    CHECK(bytes_of(tensor) == bytes_of(params.at(name)));
  }

  // tokenizer.json: loads back through the bpe tokenizer and encodes text identically.
  anvil::builtin::BpeTokenizer reloaded;
  reloaded.load(out / "tokenizer.json");
  CHECK(reloaded.vocab_size() == vocab);
  for (const std::string& text : {std::string("To be, or not to be<|endoftext|>the question"),
                                  kCorpus[3], std::string("unseen wörds ✓")})
    CHECK(reloaded.encode(text) == tokenizer->encode(text));
}

TEST_CASE("export of an untied model writes lm_head and tie_word_embeddings false", "[export]") {
  anvil::test::TempDir dir("export");
  const auto tokenizer = trained_bpe();
  auto model = make_model(options_with(tokenizer->vocab_size(), false, 4));
  export_hugging_face(*model, *tokenizer, dir.path / "hf", export_options());
  CHECK(read_json(dir.path / "hf" / "config.json")["tie_word_embeddings"] == false);
  const auto contents = anvil::core::read_safetensors(dir.path / "hf" / "model.safetensors");
  std::set<std::string> names;
  for (const auto& [name, tensor] : contents.tensors) names.insert(name);
  CHECK(names.count("lm_head.weight") == 1);
  CHECK(bytes_of(contents.tensors.back().second).size() > 0);
}

TEST_CASE("export in bf16 and fp16 converts the weights and says so in config.json", "[export]") {
  const auto tokenizer = trained_bpe();
  auto model = make_model(options_with(tokenizer->vocab_size(), true, 2));
  const auto params = params_by_hf_name(*model);
  for (const auto& [type, hf_name] :
       {std::pair{at::kBFloat16, "bfloat16"}, std::pair{at::kHalf, "float16"}}) {
    INFO(hf_name);
    anvil::test::TempDir dir("export");
    export_hugging_face(*model, *tokenizer, dir.path / "hf", export_options(type));
    CHECK(read_json(dir.path / "hf" / "config.json")["torch_dtype"] == hf_name);
    for (const auto& [name, tensor] :
         anvil::core::read_safetensors(dir.path / "hf" / "model.safetensors").tensors) {
      INFO(name);
      CHECK(tensor.scalar_type() == type);
      CHECK(bytes_of(tensor) == bytes_of(params.at(name).to(type)));
    }
  }
  CHECK(anvil::core::parse_export_dtype("bf16") == at::kBFloat16);
  CHECK(anvil::core::parse_export_dtype("float16") == at::kHalf);
  CHECK(anvil::core::parse_export_dtype("fp32") == at::kFloat);
  CHECK_FALSE(anvil::core::parse_export_dtype("int8").has_value());
}

TEST_CASE("export with the char tokenizer writes the weights and warns about tokenizer.json",
          "[export]") {
  anvil::test::TempDir dir("export");
  const anvil::builtin::CharTokenizer tokenizer;  // bytes mode: <|endoftext|> + 256 bytes
  auto model = make_model(options_with(tokenizer.vocab_size(), true, 2));
  HuggingFaceExportOptions options = export_options();
  options.tokenizer = "char";
  const HuggingFaceExportSummary summary =
      export_hugging_face(*model, tokenizer, dir.path / "hf", options);
  CHECK_FALSE(summary.tokenizer_json);
  REQUIRE(summary.warnings.size() == 1);
  CHECK_THAT(summary.warnings[0],
             Contains("tokenizer 'char' cannot be written as a Hugging Face tokenizer.json"));
  // The char tokenizer's own tokenizer.json is not Hugging Face's: nothing of it is kept.
  CHECK(folder_entries(dir.path / "hf") ==
        std::set<std::string>{"config.json", "generation_config.json", "model.safetensors"});
  CHECK(read_json(dir.path / "hf" / "config.json")["eos_token_id"] == 0);
}

TEST_CASE("export without the end-of-text token leaves the bos and eos ids null", "[export]") {
  anvil::test::TempDir dir("export");
  anvil::builtin::CharTokenizerOptions char_options;
  char_options.special_tokens = {"<eos>"};
  const anvil::builtin::CharTokenizer tokenizer(char_options);
  auto model = make_model(options_with(tokenizer.vocab_size(), true, 2));
  HuggingFaceExportOptions options = export_options();
  options.tokenizer = "char";
  const auto summary = export_hugging_face(*model, tokenizer, dir.path / "hf", options);
  const nlohmann::json config = read_json(dir.path / "hf" / "config.json");
  CHECK(config["bos_token_id"].is_null());
  CHECK(config["eos_token_id"].is_null());
  CHECK_FALSE(fs::exists(dir.path / "hf" / "generation_config.json"));
  CHECK(summary.warnings.size() == 2);
  options.eos_token = "<eos>";
  export_hugging_face(*model, tokenizer, dir.path / "hf2", options);
  CHECK(read_json(dir.path / "hf2" / "config.json")["eos_token_id"] == 0);
}

TEST_CASE("export refuses to overwrite a folder unless forced, and then only a model folder",
          "[export]") {
  anvil::test::TempDir dir("export");
  const anvil::builtin::CharTokenizer tokenizer;
  auto model = make_model(options_with(tokenizer.vocab_size(), true, 2));
  HuggingFaceExportOptions options = export_options();
  const fs::path out = dir.path / "hf";

  // An empty folder is fine, and a trailing separator is the same folder.
  fs::create_directories(out);
  export_hugging_face(*model, tokenizer, out.string() + "/", options);
  CHECK(fs::exists(out / "model.safetensors"));

  CHECK_THROWS_WITH(export_hugging_face(*model, tokenizer, out, options),
                    Contains("exists and is not empty"));
  // --force replaces an earlier export, leaving nothing else behind.
  std::ofstream(out / "stale.txt") << "old";
  options.force = true;
  export_hugging_face(*model, tokenizer, out, options);
  CHECK_FALSE(fs::exists(out / "stale.txt"));
  CHECK(fs::exists(out / "config.json"));
  CHECK(folder_entries(dir.path) == std::set<std::string>{"hf"});

  // ... but not a folder that holds no model, nor a file.
  const fs::path other = dir.path / "notes";
  fs::create_directories(other);
  std::ofstream(other / "todo.txt") << "keep me";
  CHECK_THROWS_WITH(export_hugging_face(*model, tokenizer, other, options),
                    Contains("--force replaces only a folder that holds a model"));
  CHECK(fs::exists(other / "todo.txt"));
  std::ofstream(dir.path / "file") << "x";
  CHECK_THROWS_WITH(export_hugging_face(*model, tokenizer, dir.path / "file", options),
                    Contains("exists and is not a folder"));
}

namespace {

// A model that does not implement HuggingFaceExportable.
class PlainModel final : public anvil::Model {
 public:
  torch::nn::Module& module() override { return module_; }
  anvil::ModelOutput forward(const at::Tensor&) override { return {}; }
  std::vector<std::shared_ptr<torch::nn::Module>> blocks() override { return {}; }
  std::int64_t vocab_size() const override { return 300; }
  std::int64_t max_seq_len() const override { return 0; }
  double flops_per_token(std::int64_t) const override { return 0; }
  std::unique_ptr<anvil::KVCache> new_cache(std::int64_t, std::int64_t) override { return {}; }
  at::Tensor decode(const at::Tensor&, anvil::KVCache&) override { return {}; }

 private:
  torch::nn::Module module_;
};

}  // namespace

TEST_CASE("export refuses models that do not implement the interface and mismatched tokenizers",
          "[export]") {
  anvil::test::TempDir dir("export");
  const anvil::builtin::CharTokenizer tokenizer;
  HuggingFaceExportOptions options = export_options();
  options.architecture = "bigram";
  const PlainModel plain;
  try {
    export_hugging_face(plain, tokenizer, dir.path / "hf", options);
    FAIL("no error");
  } catch (const anvil::Error& e) {
    CHECK(std::string(e.what()) ==
          "architecture 'bigram' cannot be exported to the Hugging Face format");
    CHECK_THAT(e.hint(), Contains("HuggingFaceExportable"));
  }
  auto small = make_model(options_with(100, true, 2));  // the tokenizer has 257 ids
  CHECK_THROWS_WITH(export_hugging_face(*small, tokenizer, dir.path / "hf", options),
                    Contains("the tokenizer has 257 ids but the model only 100"));
  CHECK(folder_entries(dir.path).empty());
}

TEST_CASE("export through the plugin libraries finds the interface across the .so boundary",
          "[export][plugin]") {
  anvil::core::PluginHost host;
  host.load(fs::path(ANVIL_BUILTIN_PLUGIN_DIR) / "arch-dense.so");
  host.load(fs::path(ANVIL_BUILTIN_PLUGIN_DIR) / "tokenizer-bpe.so");
  const auto create = [&](anvil::ComponentKind kind, const std::string& name, toml::table table,
                          const anvil::RunContext& context) {
    const std::string key_path(anvil::to_string(kind));
    const anvil::ComponentSpec* spec = host.find_spec(kind, name);
    REQUIRE(spec != nullptr);
    anvil::Diagnostics diagnostics;
    spec->options.validate(table, key_path, diagnostics, {"plugin"});
    REQUIRE(diagnostics.empty());
    return host.create_component(kind, name, anvil::Options(table, key_path, diagnostics), context);
  };
  const auto tokenizer = std::static_pointer_cast<anvil::Tokenizer>(
      create(anvil::ComponentKind::tokenizer, "bpe", toml::table{}, {}));
  anvil::RunContext context;
  context.vocab_size = tokenizer->vocab_size();
  const auto model = std::static_pointer_cast<anvil::Model>(create(
      anvil::ComponentKind::architecture, "dense",
      toml::table{{"d_model", 16}, {"n_layers", 1}, {"n_heads", 2}, {"max_seq_len", 8}}, context));
  REQUIRE(dynamic_cast<const anvil::HuggingFaceExportable*>(model.get()) != nullptr);

  anvil::test::TempDir dir("export");
  const auto summary = export_hugging_face(*model, *tokenizer, dir.path / "hf", export_options());
  CHECK(summary.tensors == 2 + 9);
  CHECK(summary.tokenizer_json);
  CHECK(read_json(dir.path / "hf" / "config.json")["hidden_size"] == 16);
}

// ---------------------------------------------------------------------------------------------
// Independent readers

TEST_CASE("export: an independent standard-library reader sees the model's tensors",
          "[export][python]") {
  if (!have_python()) {
    WARN("python3 is not on PATH: skipped");
    return;
  }
  const auto tokenizer = trained_bpe();
  auto model = make_model(options_with(tokenizer->vocab_size(), false, 2));
  for (const auto& [type, dtype] :
       {std::pair{at::kFloat, "F32"}, std::pair{at::kBFloat16, "BF16"}}) {
    INFO(dtype);
    anvil::test::TempDir dir("export");
    export_hugging_face(*model, *tokenizer, dir.path / "hf", export_options(type));
    std::map<std::string, std::string> lines;  // sorted by name, as the reader prints them
    for (const auto& [name, param] : params_by_hf_name(*model))
      lines[name] = reader_line(name, dtype, param.to(type));
    std::string expected;
    for (const auto& [name, line] : lines) expected += line;
    const auto [output, ok] =
        run("python3 " + quoted(kReader) + " " +
            quoted((dir.path / "hf" / "model.safetensors").string()) + " 2>&1");
    INFO(output);
    REQUIRE(ok);
    CHECK(output == expected);
  }
}

TEST_CASE("export: a Llama forward pass from the Transformers semantics gives the dense logits",
          "[export][python]") {
  if (python_with_torch().empty()) {
    WARN("no python3 with torch (Debian package python3-torch): skipped");
    return;
  }
  const auto tokenizer = trained_bpe();
  const std::vector<std::int64_t> ids = [&] {
    std::vector<std::int64_t> v;
    for (const std::int32_t id : tokenizer->encode("To be, or not to be, that is the question"))
      v.push_back(id);
    return v;
  }();
  REQUIRE(ids.size() >= 8);
  struct Variant {
    bool tied;
    std::int64_t kv_heads;
  };
  for (const Variant variant : {Variant{true, 2}, Variant{false, 4}, Variant{false, 1}}) {
    INFO("tied " << variant.tied << ", kv_heads " << variant.kv_heads);
    auto model = make_model(options_with(tokenizer->vocab_size(), variant.tied, variant.kv_heads));
    anvil::test::TempDir dir("export");
    export_hugging_face(*model, *tokenizer, dir.path / "hf", export_options());

    const at::Tensor expected = dense_logits(*model, ids).to(at::kDouble);
    const at::Tensor got = reference_logits(dir.path / "hf", ids);
    REQUIRE(got.sizes() == expected.sizes());
    // Logits of order 1 (the scaled-up weights), so a wrong rotation or head order is far off.
    CHECK(expected.abs().max().item<double>() > 0.5);
    const double diff = (got - expected).abs().max().item<double>();
    INFO("max |reference - dense| = " << diff);
    CHECK(diff < 1e-4);
  }
}

TEST_CASE("export: the Llama reference's greedy continuation equals the dense model's",
          "[export][python]") {
  if (python_with_torch().empty()) {
    WARN("no python3 with torch (Debian package python3-torch): skipped");
    return;
  }
  const auto tokenizer = trained_bpe();
  auto model = make_model(options_with(tokenizer->vocab_size(), false, 2), 11);
  anvil::test::TempDir dir("export");
  export_hugging_face(*model, *tokenizer, dir.path / "hf", export_options());

  std::vector<std::int64_t> ids;
  for (const std::int32_t id : tokenizer->encode("To be")) ids.push_back(id);
  const std::size_t prompt = ids.size();
  for (int step = 0; step < 12; ++step)
    ids.push_back(dense_logits(*model, ids)[-1].argmax().item<std::int64_t>());
  const std::vector<std::int64_t> continuation(ids.begin() + static_cast<std::ptrdiff_t>(prompt),
                                               ids.end());

  const auto [output, ok] =
      run(python_with_torch() + " " + quoted(kReference) + " " +
          quoted((dir.path / "hf").string()) + " generate " +
          join_ids({ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(prompt)}) + " 12 2>&1");
  INFO(output);
  REQUIRE(ok);
  CHECK(nlohmann::json::parse(output)["ids"].get<std::vector<std::int64_t>>() == continuation);
}
