#pragma once
// A trained model and its tokenizer, loaded from a checkpoint folder alone (its manifest names
// the plugins and options; its tokenizer/ and model.safetensors hold the rest): what
// `anvil generate` and `anvil export` work from.

#include "run/run_components.h"
#include "train/train_config.h"

#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace anvil::core {

struct CheckpointModel {
  Run run;                    ///< host, loggers, tokenizer and model (no optimizer)
  std::filesystem::path dir;  ///< the checkpoint folder used
  std::int64_t step = 0;      ///< its step
  TrainConfig config;         ///< the settings of its manifest ([sample] defaults, seed, ...)
};

/// Opens `path`: one checkpoint folder (runs/NAME/checkpoints/step-00000100), or a run folder
/// (runs/NAME) or checkpoints folder, meaning its newest valid checkpoint (damaged newer ones
/// are skipped with a warning). Loads the plugins the checkpoint's manifest names, the
/// tokenizer from its tokenizer/ folder and the model's weights, on `device`, in eval mode.
/// Throws DataError naming the checkpoint and the damaged or mismatched file.
CheckpointModel load_checkpoint_model(const std::vector<std::string>& plugin_paths, const std::filesystem::path& path,
                                      c10::Device device);

}  // namespace anvil::core
