#pragma once
// `anvil export`: a model and its tokenizer written as a Hugging Face Transformers folder that
// other tools load directly (AutoModelForCausalLM.from_pretrained(dir)); see docs/export.md.
//
//   config.json              the architecture's (HuggingFaceExportable), with torch_dtype and
//                            the bos/eos ids of the tokenizer's end-of-text token
//   model.safetensors        every tensor under its Hugging Face name, in the chosen dtype,
//                            metadata {"format": "pt"}
//   generation_config.json   bos/eos ids, when the tokenizer has the end-of-text token
//   tokenizer.json           when the tokenizer writes a Hugging Face tokenizer.json (bpe)
//   tokenizer_config.json    with it: PreTrainedTokenizerFast and its special tokens
//
// The folder is written as <out>.partial next to <out> and renamed into place at the end, so
// an interrupted export never leaves a half-written model under the final name.

#include <anvil/model.h>
#include <anvil/tokenizer.h>

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace anvil::core {

/// How export_hugging_face writes the folder.
struct HuggingFaceExportOptions {
  std::string architecture = "?";  ///< the model's plugin name, for messages
  std::string tokenizer = "?";     ///< the tokenizer's plugin name, for messages
  /// dtype of the written floating-point tensors: kFloat, kBFloat16 or kHalf.
  c10::ScalarType dtype = c10::kFloat;
  /// The token that ends documents (the manifest's data.eos_token): its id becomes
  /// bos_token_id and eos_token_id, as for GPT-2, since documents are packed
  /// "doc <eos> doc <eos>" and generation starts after an <eos>.
  std::string eos_token = "<|endoftext|>";
  /// Written to tokenizer_config.json (and pad_token_id to config.json) when not empty and the
  /// tokenizer has them: [tokenizer] pad_token and unk_token.
  std::string pad_token, unk_token;
  /// Replace an existing non-empty output folder (only one that holds a config.json or a
  /// model.safetensors, so that a mistyped --out cannot delete an unrelated folder).
  bool force = false;
};

/// What export_hugging_face wrote.
struct HuggingFaceExportSummary {
  std::vector<std::string> files;     ///< file names in the folder, in the order written
  std::int64_t tensors = 0;           ///< tensors in model.safetensors
  std::int64_t elements = 0;          ///< their elements (parameters)
  std::uintmax_t weight_bytes = 0;    ///< size of model.safetensors
  bool tokenizer_json = false;        ///< whether tokenizer.json was written
  std::vector<std::string> warnings;  ///< e.g. no tokenizer.json for this tokenizer
};

/// The dtype named "fp32", "bf16" or "fp16" (also "float32", "bfloat16", "float16"), or
/// std::nullopt for any other name.
std::optional<c10::ScalarType> parse_export_dtype(const std::string& name);

/// Hugging Face's name of an export dtype ("float32", "bfloat16", "float16").
std::string hf_dtype_name(c10::ScalarType dtype);

/// Writes `model` and `tokenizer` to `out_dir` as described at the top of this file and
/// returns what was written. Throws anvil::Error when the model does not implement
/// HuggingFaceExportable, when the tokenizer has more ids than the model, when `out_dir` exists
/// and is not empty (without options.force), or on an I/O failure (the partial folder is then
/// removed). A tokenizer that cannot produce a Hugging Face tokenizer.json (char) does not
/// stop the export: the summary carries a warning instead.
HuggingFaceExportSummary export_hugging_face(const Model& model, const Tokenizer& tokenizer,
                                             const std::filesystem::path& out_dir,
                                             const HuggingFaceExportOptions& options);

}  // namespace anvil::core
