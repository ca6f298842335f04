#pragma once
// The differences between two resolved manifests (the one saved in a checkpoint and the one a
// resume is asked to run), and which of them a resume may accept.

#include <toml++/toml.h>

#include <string>
#include <vector>

namespace anvil::core {

struct ManifestChange {
  std::string key;     ///< "training.lr", "eval[0].max_batches"
  std::string before;  ///< the value as TOML, or "(not set)"
  std::string after;
};

/// Every key whose value differs, was added or was removed, in key order. Arrays of tables of
/// the same length are compared entry by entry; any other array as a whole.
std::vector<ManifestChange> diff_manifests(const toml::table& before, const toml::table& after);

/// True for keys that may change when a run resumes without changing what the finished run
/// computes up to the checkpoint: the step count, evaluation, logging and checkpoint cadence,
/// the sample, the output folder and the thread count.
bool is_safe_resume_change(const std::string& key);

/// Rewrites the path-valued keys ([run] out_dir, [plugins] paths, [data] train, valid, dataset
/// and tokenizer) as absolute paths, resolved the way Manifest::resolve_path does, so that the
/// manifest means the same when read from another folder (a checkpoint).
void make_paths_absolute(toml::table& root);

}  // namespace anvil::core
