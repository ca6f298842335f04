// `anvil export` to a Hugging Face Transformers folder (see hf_export.h and docs/export.md).
#include "export/hf_export.h"

#include "checkpoint/safetensors.h"
#include "io/durable_file.h"

#include <anvil/errors.h>
#include <anvil/hf_export.h>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <system_error>
#include <utility>

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace anvil::core {

namespace {

constexpr const char* kConfigJson = "config.json";
constexpr const char* kGenerationConfigJson = "generation_config.json";
constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kTokenizerJson = "tokenizer.json";
constexpr const char* kTokenizerConfigJson = "tokenizer_config.json";

struct DtypeName {
  const char* short_name;
  const char* hf_name;
  c10::ScalarType type;
};
constexpr DtypeName kDtypes[] = {{"fp32", "float32", c10::kFloat},
                                 {"bf16", "bfloat16", c10::kBFloat16},
                                 {"fp16", "float16", c10::kHalf}};

std::string with_suffix(const fs::path& path, const char* suffix) { return path.string() + suffix; }

// Written with fsync, like the weights, so a crash right after the rename loses nothing.
void write_text(const fs::path& path, const std::string& text) {
  DurableFile file(path, "export file");
  file.write(text.data(), text.size());
  file.sync_and_close();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool is_empty_folder(const fs::path& path) {
  return fs::directory_iterator(path) == fs::directory_iterator();
}

// A folder --force may replace: one that already holds a model (an earlier export).
bool looks_like_model_folder(const fs::path& path) {
  return fs::exists(path / kConfigJson) || fs::exists(path / kWeightsFile);
}

// The folder export writes: absolute, without a trailing separator (so that "<out>.partial"
// is a sibling, not a file inside it).
fs::path output_folder(const fs::path& out_dir) {
  if (out_dir.empty()) throw Error("export: the output folder is empty", "pass --out DIR");
  fs::path out = fs::absolute(out_dir).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  return out;
}

void check_output_folder(const fs::path& out, const HuggingFaceExportOptions& options) {
  if (!fs::exists(out)) return;
  if (!fs::is_directory(out))
    throw Error("export: " + out.string() + " exists and is not a folder", "choose another --out");
  if (is_empty_folder(out)) return;
  if (!options.force)
    throw Error("export: the output folder " + out.string() + " exists and is not empty",
                "choose another --out, or pass --force to replace it");
  if (!looks_like_model_folder(out))
    throw Error(
        "export: --force replaces only a folder that holds a model (config.json or "
        "model.safetensors), and " +
            out.string() + " holds neither",
        "choose another --out, or empty the folder first");
}

// The model's config.json with the fields the exporter owns set.
std::string config_text(const std::string& config_json, const HuggingFaceExportOptions& options,
                        std::optional<std::int32_t> eos_id, std::optional<std::int32_t> pad_id) {
  ordered_json config;
  try {
    config = ordered_json::parse(config_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error("export: architecture '" + options.architecture +
                    "' produced a config.json that is not valid JSON: " + e.what(),
                "this is a bug in the architecture plugin");
  }
  if (!config.is_object() || !config.contains("model_type") || !config["model_type"].is_string())
    throw Error("export: architecture '" + options.architecture +
                    "' produced a config.json without a \"model_type\" string",
                "this is a bug in the architecture plugin");
  config["torch_dtype"] = hf_dtype_name(options.dtype);
  config["bos_token_id"] = eos_id ? ordered_json(*eos_id) : ordered_json(nullptr);
  config["eos_token_id"] = eos_id ? ordered_json(*eos_id) : ordered_json(nullptr);
  if (pad_id) config["pad_token_id"] = *pad_id;
  return config.dump(2) + "\n";
}

// True when `text` is a Hugging Face tokenizer.json: an object whose "model" object has a
// "type" ("BPE", "WordPiece", ...). The char tokenizer's own tokenizer.json is not one.
bool is_hf_tokenizer_json(const std::string& text) {
  const ordered_json json = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  return json.is_object() && json.contains("model") && json["model"].is_object() &&
         json["model"].contains("type") && json["model"]["type"].is_string();
}

// Saves the tokenizer into a scratch folder inside `folder` and keeps its tokenizer.json when
// it is Hugging Face's format. Returns whether it did.
bool write_tokenizer_json(const Tokenizer& tokenizer, const fs::path& folder) {
  const fs::path scratch = folder / ".tokenizer";
  tokenizer.save(scratch);
  const fs::path saved = scratch / kTokenizerJson;
  const bool usable = fs::exists(saved) && is_hf_tokenizer_json(read_text(saved));
  if (usable) fs::rename(saved, folder / kTokenizerJson);
  fs::remove_all(scratch);
  return usable;
}

std::string tokenizer_config_text(const std::optional<std::string>& eos_token,
                                  const HuggingFaceExportOptions& options, std::int64_t max_seq_len) {
  ordered_json config;
  // The class that reads tokenizer.json as it is; LlamaTokenizerFast (chosen from config.json's
  // model_type otherwise) would add a "<s>" it does not have.
  config["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (eos_token) {
    config["bos_token"] = *eos_token;
    config["eos_token"] = *eos_token;
  }
  if (!options.pad_token.empty()) config["pad_token"] = options.pad_token;
  if (!options.unk_token.empty()) config["unk_token"] = options.unk_token;
  if (max_seq_len > 0) config["model_max_length"] = max_seq_len;
  config["clean_up_tokenization_spaces"] = false;
  return config.dump(2) + "\n";
}

std::string generation_config_text(std::int32_t eos_id) {
  ordered_json config;
  config["bos_token_id"] = eos_id;
  config["eos_token_id"] = eos_id;
  return config.dump(2) + "\n";
}

// Writes everything into `folder` (which exists and is empty).
void write_folder(const HuggingFaceModel& hf, const Model& model, const Tokenizer& tokenizer,
                  const fs::path& folder, const HuggingFaceExportOptions& options,
                  HuggingFaceExportSummary& summary) {
  // Weights: floating-point tensors in the chosen dtype; write_safetensors copies each one to
  // contiguous CPU memory as it goes. The "format" metadata is what Transformers checks.
  StateDict tensors;
  tensors.reserve(hf.tensors.size());
  for (const auto& [name, tensor] : hf.tensors) {
    if (!tensor.defined())
      throw Error("export: architecture '" + options.architecture + "' gave tensor '" + name +
                      "' undefined",
                  "this is a bug in the architecture plugin");
    at::Tensor converted = tensor.is_floating_point() ? tensor.to(options.dtype) : tensor;
    summary.elements += converted.numel();
    tensors.emplace_back(name, std::move(converted));
  }
  write_safetensors(folder / kWeightsFile, tensors, {{"format", "pt"}});
  tensors.clear();
  summary.files.push_back(kWeightsFile);
  summary.tensors = static_cast<std::int64_t>(hf.tensors.size());
  summary.weight_bytes = fs::file_size(folder / kWeightsFile);

  std::optional<std::int32_t> eos_id;
  if (!options.eos_token.empty()) eos_id = tokenizer.token_to_id(options.eos_token);
  // A named pad or unk token the tokenizer lacks is refused when the tokenizer is trained.
  std::optional<std::int32_t> pad_id;
  if (!options.pad_token.empty()) pad_id = tokenizer.token_to_id(options.pad_token);
  write_text(folder / kConfigJson, config_text(hf.config_json, options, eos_id, pad_id));
  summary.files.push_back(kConfigJson);
  if (eos_id) {
    write_text(folder / kGenerationConfigJson, generation_config_text(*eos_id));
    summary.files.push_back(kGenerationConfigJson);
  } else if (!options.eos_token.empty()) {
    summary.warnings.push_back("the tokenizer has no token '" + options.eos_token +
                               "': config.json has no bos_token_id / eos_token_id");
  }

  summary.tokenizer_json = write_tokenizer_json(tokenizer, folder);
  if (summary.tokenizer_json) {
    summary.files.push_back(kTokenizerJson);
    write_text(
        folder / kTokenizerConfigJson,
        tokenizer_config_text(eos_id ? std::optional<std::string>(options.eos_token) : std::nullopt,
                              options, model.max_seq_len()));
    summary.files.push_back(kTokenizerConfigJson);
  } else {
    summary.warnings.push_back(
        "tokenizer '" + options.tokenizer +
        "' cannot be written as a Hugging Face tokenizer.json: the export has the weights and "
        "config only (encode text with `anvil tokenizer encode` on the run's tokenizer, or "
        "train the run with the bpe tokenizer)");
  }
}

}  // namespace

std::optional<c10::ScalarType> parse_export_dtype(const std::string& name) {
  for (const DtypeName& dtype : kDtypes)
    if (name == dtype.short_name || name == dtype.hf_name) return dtype.type;
  return std::nullopt;
}

std::string hf_dtype_name(c10::ScalarType dtype) {
  for (const DtypeName& d : kDtypes)
    if (d.type == dtype) return d.hf_name;
  throw Error(std::string("export: unsupported dtype ") + c10::toString(dtype),
              "export as fp32, bf16 or fp16");
}

HuggingFaceExportSummary export_hugging_face(const Model& model, const Tokenizer& tokenizer,
                                             const fs::path& out_dir,
                                             const HuggingFaceExportOptions& options) {
  hf_dtype_name(options.dtype);  // refuses other dtypes before any work
  const auto* exportable = dynamic_cast<const HuggingFaceExportable*>(&model);
  if (exportable == nullptr)
    throw Error(
        "architecture '" + options.architecture + "' cannot be exported to the Hugging Face format",
        "only architectures that implement anvil::HuggingFaceExportable "
        "(anvil/hf_export.h) can be exported; the built-in one is 'dense'");
  if (tokenizer.vocab_size() > model.vocab_size())
    throw Error("export: the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                    " ids but the model only " + std::to_string(model.vocab_size()),
                "export the model with the tokenizer it was trained with");

  const fs::path out = output_folder(out_dir);
  check_output_folder(out, options);
  const fs::path partial = with_suffix(out, ".partial");
  fs::create_directories(out.parent_path());
  fs::remove_all(partial);  // left by an interrupted export
  fs::create_directory(partial);

  HuggingFaceExportSummary summary;
  try {
    write_folder(exportable->to_hugging_face(), model, tokenizer, partial, options, summary);
    if (fs::exists(out) && !is_empty_folder(out)) {
      // --force (checked above): the old folder goes only once the new one is complete.
      const fs::path replaced = with_suffix(out, ".replaced");
      fs::remove_all(replaced);
      fs::rename(out, replaced);
      fs::rename(partial, out);
      fs::remove_all(replaced);
    } else {
      fs::rename(partial, out);  // replaces an empty folder
    }
  } catch (const fs::filesystem_error& e) {
    std::error_code ignored;
    fs::remove_all(partial, ignored);
    throw DataError(std::string("export: ") + e.what(),
                    "check that the disk is not full and the folder is writable");
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(partial, ignored);
    throw;
  }
  return summary;
}

}  // namespace anvil::core
