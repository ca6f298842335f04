#pragma once
// Where a run writes, checked before any compute: the folder can be created and written, and
// the disk has room for the checkpoints the run keeps.

#include "manifest/manifest.h"
#include "train/train_config.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace anvil::core {

/// Throws ConfigError at `key` (the manifest key that chose the folder, e.g. "run.out_dir")
/// when `dir` cannot be created or written. Probed by creating and removing a folder in `dir`
/// or in its nearest existing ancestor, so nothing is left behind.
void check_writable_folder(const Manifest& manifest, const std::string& key,
                           const std::filesystem::path& dir);

/// check_writable_folder of the run folder (at run.out_dir) and, when [data] dataset names one,
/// of the dataset folder.
void check_output_folders(const Manifest& manifest, const TrainConfig& config);

/// One line on the disk under `dir`: its free space against `keep` checkpoints of
/// `checkpoint_bytes` each (a warning when they do not fit). `keep` 0 means every checkpoint
/// is kept.
std::string checkpoint_disk_report(const std::filesystem::path& dir, double checkpoint_bytes,
                                   std::int64_t keep);

}  // namespace anvil::core
