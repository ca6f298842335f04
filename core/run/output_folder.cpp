#include "run/output_folder.h"

#include "metrics/progress_bar.h"
#include "train/train_config.h"

#include <anvil/errors.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

// `dir` itself when it exists, else its nearest ancestor that does.
fs::path nearest_existing(const fs::path& dir) {
  fs::path path = fs::absolute(dir).lexically_normal();
  std::error_code error;
  while (!fs::exists(path, error) && path.has_parent_path() && path != path.parent_path())
    path = path.parent_path();
  return path;
}

}  // namespace

void check_writable_folder(const Manifest& manifest, const std::string& key, const fs::path& dir) {
  const fs::path existing = nearest_existing(dir);
  const auto refuse = [&](const std::string& why) {
    throw ConfigError({manifest.problem_at(key, "cannot write the folder " + dir.string() + ": " + why,
                                           "choose a folder this user can create and write")});
  };
  std::error_code error;
  if (!fs::is_directory(existing, error)) refuse(existing.string() + " is not a folder");
  // access() says yes to root everywhere, /proc included: only a real write tells.
  const fs::path probe = existing / fmt::format(".anvil-write-probe-{}", static_cast<long>(getpid()));
  if (!fs::create_directory(probe, error) && error)
    refuse("creating a folder in " + existing.string() + " failed: " + error.message());
  fs::remove(probe, error);
}

void check_output_folders(const Manifest& manifest, const TrainConfig& config) {
  check_writable_folder(manifest, "run.out_dir", config.run_dir);
  if (const toml::node* dataset = manifest.root().at_path("data.dataset").node())
    if (!dataset->value_or(std::string()).empty())
      check_writable_folder(manifest, "data.dataset", Manifest::resolve_path(*dataset));
}

std::string checkpoint_disk_report(const fs::path& dir, double checkpoint_bytes, std::int64_t keep) {
  const fs::path existing = nearest_existing(dir);
  std::error_code error;
  const fs::space_info space = fs::space(existing, error);
  if (error) return "disk: free space of " + existing.string() + " unknown (" + error.message() + ")\n";
  const auto free_bytes = static_cast<double>(space.available);
  // While a checkpoint is written the oldest kept one still exists.
  const std::int64_t at_once = keep > 0 ? keep + 1 : 0;
  std::string text = fmt::format("disk: {} free at {}; a checkpoint is {}", format_bytes(free_bytes),
                                 existing.string(), format_bytes(checkpoint_bytes));
  if (at_once == 0)
    return text + ", and keep_last = 0 keeps every one (" +
           fmt::format("{:.0f}", free_bytes / std::max(checkpoint_bytes, 1.0)) + " fit)\n";
  const double needed = checkpoint_bytes * static_cast<double>(at_once);
  const bool fits = needed <= free_bytes;
  text += fmt::format(", {} at once with keep_last = {}: {}", format_bytes(needed), keep,
                      fits ? "fits" : "does not fit");
  if (!fits)
    spdlog::warn("{} kept checkpoints of {} need {}, but {} has {} free", at_once,
                 format_bytes(checkpoint_bytes), format_bytes(needed), existing.string(),
                 format_bytes(free_bytes));
  return text + "\n";
}

}  // namespace anvil::core
