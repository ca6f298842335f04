#pragma once
/// @file hf_export.h
/// Optional interface of a Model whose weights can be written as a Hugging Face Transformers
/// model folder (`anvil export`). An architecture plugin opts in by deriving its Model class
/// from HuggingFaceExportable as well; the host finds it with dynamic_cast, so models that do
/// not implement it are unaffected (and `anvil export` explains that they cannot be exported).

#include <anvil/export.h>
#include <anvil/tensor_types.h>

#include <string>

namespace anvil {

/// A model in the terms of a Hugging Face Transformers class: its config.json and its tensors
/// under the names that class's state dict uses.
struct HuggingFaceModel {
  /// The text of config.json: a JSON object with at least "architectures" and "model_type"
  /// plus the hyper-parameters the class reads (for Llama: hidden_size, num_hidden_layers,
  /// rope_theta, ...). The exporter sets "torch_dtype" (the dtype it writes),
  /// "bos_token_id" and "eos_token_id" (from the tokenizer) over what is given here.
  std::string config_json;
  /// Every tensor under its Hugging Face name (model.layers.0.self_attn.q_proj.weight, ...), in
  /// the order to write them, on any device and in the model's dtype; the exporter converts
  /// them. Tied weights appear once (config_json says they are tied).
  StateDict tensors;
};

/// Implemented, besides Model, by architectures that map onto a Hugging Face Transformers
/// class exactly: loading the exported folder there gives the same logits.
class ANVIL_SDK_API HuggingFaceExportable {
 public:
  /// Destroys the interface (anchors its RTTI in libanvil_sdk, for dynamic_cast across
  /// plugin libraries).
  virtual ~HuggingFaceExportable();
  /// The model's current weights and configuration in Hugging Face's terms. The tensors may
  /// share storage with the parameters: the caller must not modify them.
  virtual HuggingFaceModel to_hugging_face() const = 0;
};

}  // namespace anvil
