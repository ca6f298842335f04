#pragma once
// Where checkpoints live and what a checkpoint folder holds.
//
//   <run_dir>/checkpoints/
//     step-00000100/          one finished checkpoint (never modified once renamed into place)
//       manifest.toml         the resolved manifest (paths absolute), enough to rebuild the run
//       model.safetensors     the model's parameters and buffers, by module name
//       optimizer.safetensors the optimizer's state_dict()
//       rng.safetensors       the default generators' states ("cpu", "cuda:0", ...)
//       state.json            step, token and skipped-step counters, loss scale, loader
//                             position, plugin names and versions, versions of Anvil and LibTorch
//       tokenizer/            the tokenizer's files (as stored with the dataset)
//       checksums.json        size and XXH3-128 of every other file; written last
//     latest                  "step-00000100": the newest checkpoint, updated after the rename
//     .partial-step-00000200  a checkpoint being written (or left by a crash: never read)
//
// A folder counts as a checkpoint only when its name is step-<digits> and its checksums.json
// matches every file it lists; it gets that name by an atomic rename after everything in it
// was fsynced. So a crash at any point leaves either the whole checkpoint or no checkpoint.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace anvil::core {

inline constexpr const char* kCheckpointsDir = "checkpoints";
inline constexpr const char* kLatestFile = "latest";
inline constexpr const char* kManifestFile = "manifest.toml";
inline constexpr const char* kModelFile = "model.safetensors";
inline constexpr const char* kOptimizerFile = "optimizer.safetensors";
inline constexpr const char* kRngFile = "rng.safetensors";
inline constexpr const char* kStateFile = "state.json";
inline constexpr const char* kCheckpointTokenizerDir = "tokenizer";
inline constexpr const char* kChecksumsFile = "checksums.json";
inline constexpr const char* kPartialPrefix = ".partial-";
inline constexpr const char* kDeletingPrefix = ".deleting-";

/// "step-00000100".
std::string step_dir_name(std::int64_t step);
/// The step of a folder named step-<digits>, or nothing for any other name.
std::optional<std::int64_t> parse_step_dir_name(const std::string& name);

/// A checkpoint folder found on disk (not yet verified).
struct CheckpointEntry {
  std::int64_t step = 0;
  std::filesystem::path dir;
};

/// The step-<digits> folders of `checkpoints_dir`, oldest first; empty when it does not exist.
std::vector<CheckpointEntry> list_checkpoints(const std::filesystem::path& checkpoints_dir);

/// True when `dir` looks like one checkpoint folder (it has a state.json or checksums.json)
/// rather than a run folder or a checkpoints folder.
bool is_checkpoint_dir(const std::filesystem::path& dir);

}  // namespace anvil::core
