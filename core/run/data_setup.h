#pragma once
// From a validated manifest to what the data commands need: the prepare options (inputs
// expanded, options parsed), where the dataset lives, which tokenizer makes it; and the checks
// that a prepared dataset fits a run.

#include "data/dataset_format.h"
#include "data/prepare.h"
#include "manifest/manifest.h"

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace anvil::core {

struct DataPlan {
  PrepareOptions prepare;          ///< out = dataset_dir
  std::filesystem::path dataset_dir;
  /// [data] tokenizer, resolved; empty when [tokenizer] is to be trained during prepare.
  std::filesystem::path tokenizer_dir;
};

/// The folder of the prepared dataset of a validated manifest: [data] dataset, or
/// <out_dir>/<name>/data.
std::filesystem::path dataset_dir_of(const Manifest& manifest);

/// The plan of `anvil data prepare` for a manifest whose [data] sections are validated.
/// Throws DataError naming the manifest when [data] train lists nothing, or when an input
/// matches no file. The plan has no fingerprint yet: see set_config_fingerprint.
DataPlan plan_data(const Manifest& manifest);

/// Records in the plan the hash of everything that determines the dataset's bytes: each
/// input's path, size and modification time, the shaping options, the tokenizer section that
/// will make it and, when the tokenizer is given as a folder, its files.
void set_config_fingerprint(DataPlan& plan, const toml::table& tokenizer_section);

/// The [tokenizer] section that makes the shards: the trained folder's own record when [data]
/// tokenizer names one (its plugin must be `manifest_section`'s, when given), else
/// `manifest_section`. `plugin` names the plugin of a folder without anvil-tokenizer.toml.
toml::table data_tokenizer_section(const DataPlan& plan, const toml::table* manifest_section,
                                   const std::string& plugin);

/// Checks that the dataset described by `info` in `dataset_dir` was made with the tokenizer
/// `tokenizer_section` describes (same plugin and options, except the thread count) and holds
/// at least seq_len + 1 training tokens. Throws DataError naming the dataset, the manifest
/// `manifest_file` and each difference.
void check_dataset_fits_run(const DatasetInfo& info, const std::filesystem::path& dataset_dir,
                            const toml::table& tokenizer_section, std::int64_t seq_len,
                            const std::string& manifest_file);

}  // namespace anvil::core
