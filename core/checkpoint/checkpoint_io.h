#pragma once
// Writing a checkpoint folder atomically and reading one back with verification (the layout is
// in checkpoint_layout.h).

#include "checkpoint/checkpoint_layout.h"
#include "checkpoint/checkpoint_state.h"
#include "checkpoint/safetensors.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace anvil::core {

/// Everything a checkpoint holds, in memory. For a synchronous save the tensors may be the live
/// ones; for an asynchronous save they are copies the snapshot owns.
struct CheckpointSnapshot {
  CheckpointState state;  ///< state.step names the folder
  std::string manifest_text;
  StateDict model;
  StateDict optimizer;
  StateDict rng;
  std::filesystem::path tokenizer_dir;  ///< its files are copied into tokenizer/; empty: none
};

/// Writes `snapshot` as <checkpoints_dir>/step-N: every file into .partial-step-N and fsynced,
/// then checksums.json, the folder fsynced, renamed to step-N (replacing a step-N left by an
/// earlier run), the parent fsynced, and `latest` replaced through a rename. Returns the
/// folder. Throws DataError naming the file on an I/O error (the partial folder is removed).
std::filesystem::path write_checkpoint(const std::filesystem::path& checkpoints_dir,
                                       const CheckpointSnapshot& snapshot);

/// A checkpoint read back from disk.
struct LoadedCheckpoint {
  std::filesystem::path dir;
  CheckpointState state;
  std::string manifest_text;
  SafetensorsContents model;
  SafetensorsContents optimizer;
  SafetensorsContents rng;
};

/// Verifies `dir` against its checksums, then reads it. Throws DataError naming the checkpoint
/// and the damaged file.
LoadedCheckpoint read_checkpoint(const std::filesystem::path& dir);

/// Reads a checkpoint that verify_checkpoint (or resolve_checkpoint, latest_valid_checkpoint)
/// has just accepted, without hashing every file again. Throws DataError naming a file that
/// cannot be read or parsed.
LoadedCheckpoint read_verified_checkpoint(const std::filesystem::path& dir);

/// Verifies `dir` against its checksums without reading the tensors. Throws like read_checkpoint.
void verify_checkpoint(const std::filesystem::path& dir);

/// The newest checkpoint below `checkpoints_dir` that passes verification. Each newer one that
/// fails is reported through `warn` ("skipping checkpoint ...: why") and skipped. Nothing when
/// there is no valid checkpoint.
std::optional<CheckpointEntry> latest_valid_checkpoint(
    const std::filesystem::path& checkpoints_dir, const std::function<void(const std::string&)>& warn);

/// Which checkpoints to keep: the newest `keep_last` (0 = all), plus every one whose step is a
/// multiple of `keep_every` (0 = none).
struct RetentionPolicy {
  std::int64_t keep_last = 3;
  std::int64_t keep_every = 0;
};

/// Deletes the checkpoints `policy` does not keep (the newest is always kept). Each is renamed
/// to .deleting-step-N before it is removed, so that a crash never leaves half a checkpoint
/// under a valid name. Returns the steps deleted.
std::vector<std::int64_t> apply_retention(const std::filesystem::path& checkpoints_dir,
                                          const RetentionPolicy& policy);

/// Removes .partial-* and .deleting-* folders left by a crash.
void remove_unfinished_checkpoints(const std::filesystem::path& checkpoints_dir);

/// The checkpoint `path` names: a checkpoint folder itself, or the newest valid checkpoint of a
/// run folder (<path>/checkpoints) or of a checkpoints folder. Throws DataError when there is
/// none (naming what was searched), or when a named checkpoint folder fails verification.
std::filesystem::path resolve_checkpoint(const std::filesystem::path& path,
                                         const std::function<void(const std::string&)>& warn);

}  // namespace anvil::core
