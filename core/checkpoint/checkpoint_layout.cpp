#include "checkpoint/checkpoint_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace fs = std::filesystem;

namespace anvil::core {

std::string step_dir_name(std::int64_t step) { return fmt::format("step-{:08d}", step); }

std::optional<std::int64_t> parse_step_dir_name(const std::string& name) {
  constexpr std::string_view prefix = "step-";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string digits = name.substr(prefix.size());
  if (digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  return std::stoll(digits);
}

std::vector<CheckpointEntry> list_checkpoints(const fs::path& checkpoints_dir) {
  std::vector<CheckpointEntry> entries;
  std::error_code error;
  if (!fs::is_directory(checkpoints_dir, error)) return entries;
  for (const fs::directory_entry& entry : fs::directory_iterator(checkpoints_dir, error)) {
    if (!entry.is_directory(error)) continue;
    if (auto step = parse_step_dir_name(entry.path().filename().string()))
      entries.push_back({*step, entry.path()});
  }
  std::sort(entries.begin(), entries.end(),
            [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.step < b.step; });
  return entries;
}

bool is_checkpoint_dir(const fs::path& dir) {
  std::error_code error;
  return fs::exists(dir / kStateFile, error) || fs::exists(dir / kChecksumsFile, error);
}

}  // namespace anvil::core
