// End-to-end: `anvil export` on checkpoints written by `anvil train`. The exported weights are
// the checkpoint's, renamed; the folder has what Transformers reads, and the independent Llama
// reference continues a prompt on it exactly as `anvil generate` does on the checkpoint; the
// char tokenizer gives a warning, not a failure; an architecture without the interface
// (bigram), mistakes on the command line and folders that may not be replaced are refused with
// the right exit code.
#include "checkpoint/safetensors.h"
#include "run_process.h"
#include "support/temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

namespace fs = std::filesystem;
using anvil::test::run_anvil;
using Catch::Matchers::Contains;

namespace {

const std::string kSource = ANVIL_SOURCE_DIR;
const std::string kBpeRun = kSource + "/tests/fixtures/export/tiny-bpe.toml";
const std::string kCharRun = kSource + "/tests/fixtures/train/tiny.toml";
const std::string kReference = kSource + "/tests/fixtures/export/hf_llama_reference.py";

std::string shell_quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// Trains `manifest` for `steps` steps into `out_dir` (its checkpoint is written at the end).
void train(const fs::path& out_dir, const std::string& manifest, int steps) {
  const auto result = run_anvil("train " + manifest + " --set 'run.out_dir=\"" + out_dir.string() +
                                "\"' --set training.steps=" + std::to_string(steps));
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
}

std::string bytes_of(const at::Tensor& tensor) {
  return std::string(static_cast<const char*>(tensor.data_ptr()), tensor.nbytes());
}

// Anvil's dense parameter name of a Hugging Face Llama name.
std::string anvil_name(std::string name) {
  const std::pair<const char*, const char*> renames[] = {
      {"model.embed_tokens.weight", "tok_embeddings.weight"},
      {"model.norm.weight", "norm.weight"},
      {"lm_head.weight", "output.weight"},
      {"input_layernorm", "attention_norm"},
      {"post_attention_layernorm", "ffn_norm"},
      {"self_attn.q_proj", "attention.wq"},
      {"self_attn.k_proj", "attention.wk"},
      {"self_attn.v_proj", "attention.wv"},
      {"self_attn.o_proj", "attention.wo"},
      {"mlp.gate_proj", "feed_forward.w1"},
      {"mlp.down_proj", "feed_forward.w2"},
      {"mlp.up_proj", "feed_forward.w3"},
      {"model.layers.", "layers."},
  };
  for (const auto& [from, to] : renames)
    if (const std::size_t at = name.find(from); at != std::string::npos)
      name.replace(at, std::string(from).size(), to);
  return name;
}

// A Python interpreter with torch, or "" (see tests/unit/export).
std::string python_with_torch() {
  for (const char* python : {"/usr/bin/python3", "python3"})
    if (std::system((std::string(python) + " -c 'import torch' > /dev/null 2>&1").c_str()) == 0)
      return python;
  return "";
}

}  // namespace

TEST_CASE("anvil export writes a checkpoint of a bpe run as a Hugging Face Llama folder",
          "[e2e][export]") {
  anvil::test::TempDir dir("e2e_export");
  train(dir.path, kBpeRun, 4);
  const fs::path run = dir.path / "tiny-bpe";
  const fs::path out = dir.path / "hf";

  const auto result = run_anvil("export " + shell_quoted(run) + " --out " + shell_quoted(out));
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Contains("exported step 4 of "));
  CHECK_THAT(result.out, Contains("config.json"));
  CHECK_THAT(result.out, Contains("AutoModelForCausalLM.from_pretrained"));
  CHECK(result.err.find("warning") == std::string::npos);
  for (const char* file : {"config.json", "generation_config.json", "model.safetensors",
                           "tokenizer.json", "tokenizer_config.json"})
    CHECK(fs::exists(out / file));

  const nlohmann::json config = read_json(out / "config.json");
  CHECK(config["architectures"][0] == "LlamaForCausalLM");
  CHECK(config["num_key_value_heads"] == 2);
  CHECK(config["tie_word_embeddings"] == false);
  CHECK(config["torch_dtype"] == "float32");
  CHECK(config["eos_token_id"] == 0);  // <|endoftext|>, the bpe tokenizer's first special token
  const nlohmann::json tokenizer = read_json(out / "tokenizer.json");
  CHECK(config["vocab_size"] == tokenizer["model"]["vocab"].size());

  // The weights are the checkpoint's, byte for byte, under their Llama names.
  fs::path checkpoint;
  for (const auto& entry : fs::directory_iterator(run / "checkpoints"))
    if (entry.path().filename().string().rfind("step-", 0) == 0) checkpoint = entry.path();
  REQUIRE(!checkpoint.empty());
  std::map<std::string, at::Tensor> trained;
  for (const auto& [name, tensor] :
       anvil::core::read_safetensors(checkpoint / "model.safetensors").tensors)
    trained[name] = tensor;
  const auto exported = anvil::core::read_safetensors(out / "model.safetensors");
  CHECK(exported.tensors.size() == trained.size());
  for (const auto& [name, tensor] : exported.tensors) {
    INFO(name);
    REQUIRE(trained.count(anvil_name(name)) == 1);
    CHECK(bytes_of(tensor) == bytes_of(trained.at(anvil_name(name))));
  }

  // The independent Llama forward pass on the export continues a prompt exactly as
  // `anvil generate` does greedily on the checkpoint (prompt ids from `anvil tokenizer encode`,
  // the reference's ids decoded by `anvil tokenizer decode`).
  if (const std::string python = python_with_torch(); !python.empty()) {
    const fs::path tokenizer_dir = checkpoint / "tokenizer";
    const auto generated = run_anvil("generate " + shell_quoted(checkpoint) +
                                     " --prompt 'ROMEO:' --temperature 0 --max-new-tokens 10 "
                                     "--ignore-eos --no-stream");
    INFO(generated.out << generated.err);
    REQUIRE(generated.exit_code == 0);
    const auto prompt =
        run_anvil("tokenizer encode --tokenizer " + shell_quoted(tokenizer_dir) + " --file " +
                  shell_quoted(anvil::test::write_temp_file("prompt.txt", "ROMEO:")));
    REQUIRE(prompt.exit_code == 0);
    std::string prompt_ids = prompt.out;
    while (!prompt_ids.empty() && prompt_ids.back() == '\n') prompt_ids.pop_back();
    for (char& c : prompt_ids)
      if (c == ' ') c = ',';
    REQUIRE(prompt_ids.find_first_not_of("0123456789,") == std::string::npos);
    REQUIRE_FALSE(prompt_ids.empty());
    const auto reference =
        anvil::test::run_process(python + " " + shell_quoted(kReference) + " " + shell_quoted(out) +
                                 " generate " + prompt_ids + " 10");
    INFO(reference.out << reference.err);
    REQUIRE(reference.exit_code == 0);
    std::string all_ids = prompt_ids;
    const nlohmann::json continuation = nlohmann::json::parse(reference.out);
    REQUIRE(continuation["ids"].size() == 10);
    for (const auto& id : continuation["ids"])
      all_ids += "," + std::to_string(id.get<std::int64_t>());
    for (char& c : all_ids)
      if (c == ',') c = ' ';
    const auto decoded =
        run_anvil("tokenizer decode --tokenizer " + shell_quoted(tokenizer_dir) + " --file " +
                  shell_quoted(anvil::test::write_temp_file("ids.txt", all_ids + "\n")));
    REQUIRE(decoded.exit_code == 0);
    std::string text = generated.out;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    CHECK(decoded.out == text);
  } else {
    WARN("no python3 with torch: the reference forward pass was skipped");
  }

  // One checkpoint folder works too; bf16 on request; an existing export needs --force.
  const auto again =
      run_anvil("export " + shell_quoted(checkpoint) + " --out " + shell_quoted(out));
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Contains("exists and is not empty"));
  CHECK_THAT(again.err, Contains("HINT: choose another --out, or pass --force to replace it"));
  const auto forced = run_anvil("export " + shell_quoted(checkpoint) + " --out " +
                                shell_quoted(out) + " --force --dtype bf16");
  INFO(forced.out << forced.err);
  REQUIRE(forced.exit_code == 0);
  CHECK(read_json(out / "config.json")["torch_dtype"] == "bfloat16");
  CHECK_FALSE(fs::exists(dir.path / "hf.partial"));
  CHECK_FALSE(fs::exists(dir.path / "hf.replaced"));
}

TEST_CASE("anvil export of a char-tokenizer run writes the weights and warns", "[e2e][export]") {
  anvil::test::TempDir dir("e2e_export");
  train(dir.path, kCharRun, 6);
  const fs::path out = dir.path / "hf";
  const auto result =
      run_anvil("export " + shell_quoted(dir.path / "tiny") + " --out " + shell_quoted(out));
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(
      result.err,
      Contains("warning: tokenizer 'char' cannot be written as a Hugging Face tokenizer.json"));
  CHECK(fs::exists(out / "model.safetensors"));
  CHECK(fs::exists(out / "config.json"));
  CHECK_FALSE(fs::exists(out / "tokenizer.json"));
}

TEST_CASE("anvil export refuses an architecture without the Hugging Face interface",
          "[e2e][export]") {
  anvil::test::TempDir dir("e2e_export");
  const auto trained = run_anvil(
      "train " + kSource + "/configs/tiny-bigram.toml --set 'run.out_dir=\"" + dir.path.string() +
      "\"' --set training.steps=4 --set training.warmup_steps=1 "
      "--set training.eval_every=0");
  INFO(trained.out << trained.err);
  REQUIRE(trained.exit_code == 0);
  const auto result = run_anvil("export " + shell_quoted(dir.path / "tiny-bigram") + " --out " +
                                shell_quoted(dir.path / "hf"));
  CHECK(result.exit_code == 1);
  CHECK_THAT(
      result.err,
      Contains("error: architecture 'bigram' cannot be exported to the Hugging Face format"));
  CHECK_THAT(result.err,
             Contains("HINT: only architectures that implement anvil::HuggingFaceExportable"));
  CHECK_FALSE(fs::exists(dir.path / "hf"));
  CHECK_FALSE(fs::exists(dir.path / "hf.partial"));
}

TEST_CASE("anvil export refuses bad command lines", "[e2e][export]") {
  anvil::test::TempDir dir("e2e_export");
  const auto help = run_anvil("export --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("anvil export <run-or-checkpoint> --out DIR"));
  CHECK_THAT(help.out, Contains("--dtype"));

  const auto no_out = run_anvil("export " + shell_quoted(dir.path));
  CHECK(no_out.exit_code == 2);
  CHECK_THAT(no_out.err, Contains("--out"));

  const auto bad_dtype = run_anvil("export " + shell_quoted(dir.path) + " --out x --dtype int8");
  CHECK(bad_dtype.exit_code == 2);
  CHECK_THAT(bad_dtype.err, Contains("--dtype must be fp32, bf16 or fp16, got 'int8'"));

  const auto no_checkpoint = run_anvil("export " + shell_quoted(dir.path / "missing") + " --out " +
                                       shell_quoted(dir.path / "hf"));
  CHECK(no_checkpoint.exit_code == 1);
  CHECK_FALSE(fs::exists(dir.path / "hf"));
}
