#pragma once
// state.json of a checkpoint: where the run is (counters, loss scale, data position) and what
// made it (plugins and versions). Tensors go to the safetensors files; this is the rest.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace anvil::core {

/// A component of the run and the library that provided it.
struct PluginRecord {
  std::string kind;     ///< "architecture", "optimizer", ...
  std::string name;     ///< the component's name ("dense")
  std::string library;  ///< the plugin library's name
  std::string version;  ///< the plugin library's version
};

struct CheckpointState {
  std::int64_t step = 0;           ///< optimizer steps completed
  std::int64_t tokens = 0;         ///< training tokens consumed
  std::int64_t skipped_steps = 0;  ///< steps whose update was skipped (non-finite)
  double loss_scale = 1;           ///< fp16 dynamic loss scale
  std::int64_t loss_scale_good_steps = 0;  ///< steps since the loss scale last changed
  double train_seconds = 0;        ///< training time so far, over every resumed part
  std::string loader;              ///< LoaderState::to_string()
  std::vector<PluginRecord> plugins;
  std::string anvil_version;
  std::string torch_version;
};

/// Writes `state` as JSON to `path`, fsynced.
void write_checkpoint_state(const std::filesystem::path& path, const CheckpointState& state);

/// Reads a file written by write_checkpoint_state. Throws DataError naming the file and the
/// missing or ill-typed field.
CheckpointState read_checkpoint_state(const std::filesystem::path& path);

}  // namespace anvil::core
