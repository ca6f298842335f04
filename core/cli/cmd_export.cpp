// `anvil export RUN --out DIR`: a checkpoint's model and tokenizer as a Hugging Face
// Transformers folder (config.json, model.safetensors, tokenizer.json, ...) that other tools
// load directly; see export/hf_export.h and docs/export.md.
#include "checkpoint/checkpoint_layout.h"
#include "run/checkpoint_model.h"
#include "run/tokenizer_setup.h"
#include "cli/torch_commands.h"
#include "cli/run_setup.h"
#include "export/hf_export.h"
#include "manifest/manifest.h"
#include "metrics/progress_bar.h"

#include <anvil/errors.h>

#include <boost/program_options.hpp>

#include <iostream>

namespace po = boost::program_options;

namespace anvil::core {

int run_export_command(const std::vector<std::string>& args) {
  CommonOptions common;
  std::string path, out, dtype_name = "fp32";
  bool force = false;
  po::options_description description("export options");
  description.add_options()
      ("checkpoint", po::value(&path)->required()->value_name("PATH"),
       "a run folder (its newest valid checkpoint) or one checkpoint folder")
      ("out", po::value(&out)->required()->value_name("DIR"), "the folder to write")
      ("dtype", po::value(&dtype_name)->default_value("fp32")->value_name("fp32|bf16|fp16"),
       "dtype of the exported weights")
      ("force", po::bool_switch(&force),
       "replace DIR if it already holds a model (an earlier export)");
  add_common_options(description, common);
  po::positional_options_description positional;
  positional.add("checkpoint", 1);
  po::variables_map values;
  if (!parse_command_line(
          args, "anvil export <run-or-checkpoint> --out DIR [--dtype fp32|bf16|fp16] [--force]",
          description, positional, values, common))
    return kExitOk;
  const std::optional<c10::ScalarType> dtype = parse_export_dtype(dtype_name);
  if (!dtype) throw po::error("--dtype must be fp32, bf16 or fp16, got '" + dtype_name + "'");

  const CheckpointModel loaded = load_checkpoint_model(common.plugin_paths, path, c10::Device(c10::kCPU));
  // The checkpoint's resolved manifest names the plugins (for messages) and the end-of-text
  // token the documents were packed with.
  const Manifest manifest = Manifest::load(loaded.dir / kManifestFile);
  const toml::table& root = manifest.root();
  HuggingFaceExportOptions options;
  options.architecture = root["model"]["plugin"].value_or(std::string("?"));
  options.tokenizer = root["tokenizer"]["plugin"].value_or(std::string("?"));
  // The tokenizer folder's record names its special tokens' parts ([tokenizer] eos_token, ...).
  const toml::table tokenizer_section = tokenizer_section_of(loaded.dir / kCheckpointTokenizerDir, "");
  options.eos_token = end_of_document_token(root["data"]["eos_token"].value_or(std::string()), tokenizer_section);
  options.pad_token = tokenizer_section["pad_token"].value_or(std::string());
  options.unk_token = tokenizer_section["unk_token"].value_or(std::string());
  options.dtype = *dtype;
  options.force = force;

  const HuggingFaceExportSummary summary =
      export_hugging_face(*loaded.run.model, *loaded.run.tokenizer, out, options);
  for (const std::string& warning : summary.warnings) std::cerr << "warning: " << warning << "\n";
  std::cout << "exported step " << loaded.step << " of " << loaded.dir.string() << " ("
            << options.architecture << ", "
            << format_count(static_cast<std::uint64_t>(summary.elements)) << " parameters in "
            << summary.tensors << " tensors, " << hf_dtype_name(*dtype) << ")\nwrote " << out
            << ":";
  for (const std::string& file : summary.files) {
    std::cout << " " << file;
    if (file == "model.safetensors")
      std::cout << " (" << format_bytes(static_cast<double>(summary.weight_bytes)) << ")";
  }
  std::cout << "\nload it with transformers: AutoModelForCausalLM.from_pretrained(\"" << out
            << "\")"
            << (summary.tokenizer_json ? ", AutoTokenizer.from_pretrained(\"" + out + "\")" : "")
            << "\n";
  return kExitOk;
}

}  // namespace anvil::core
