#include "checkpoint/checkpoint_io.h"

#include "checkpoint/checksum_index.h"
#include "io/durable_file.h"

#include <anvil/errors.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

const std::vector<fs::path>& required_files() {
  static const std::vector<fs::path> files{kManifestFile, kModelFile, kOptimizerFile, kRngFile, kStateFile};
  return files;
}

// A rename or a new file is durable only once its folder is fsynced too.
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw DataError("cannot open folder " + dir.string() + ": " + std::strerror(errno));
  const int result = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (result != 0) throw DataError("cannot fsync folder " + dir.string() + ": " + std::strerror(saved));
}

void write_text(const fs::path& path, const std::string& text, const char* kind) {
  DurableFile out(path, kind);
  out.write(text.data(), text.size());
  out.sync_and_close();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void copy_folder_durably(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(from)) {
    const fs::path target = to / entry.path().lexically_relative(from);
    if (entry.is_directory()) {
      fs::create_directories(target);
    } else if (entry.is_regular_file()) {
      write_text(target, read_text(entry.path()), "tokenizer file");
    }
  }
  sync_directory(to);
}

void remove_quietly(const fs::path& dir) {
  std::error_code error;
  fs::remove_all(dir, error);
}

}  // namespace

fs::path write_checkpoint(const fs::path& checkpoints_dir, const CheckpointSnapshot& snapshot) {
  const std::string name = step_dir_name(snapshot.state.step);
  const fs::path final_dir = checkpoints_dir / name;
  const fs::path partial = checkpoints_dir / (kPartialPrefix + name);
  fs::create_directories(checkpoints_dir);
  remove_quietly(partial);
  fs::create_directories(partial);
  try {
    write_text(partial / kManifestFile, snapshot.manifest_text, "checkpoint manifest");
    write_safetensors(partial / kModelFile, snapshot.model, {{"format", "anvil-model"}});
    write_safetensors(partial / kOptimizerFile, snapshot.optimizer, {{"format", "anvil-optimizer"}});
    write_safetensors(partial / kRngFile, snapshot.rng, {{"format", "anvil-rng"}});
    write_checkpoint_state(partial / kStateFile, snapshot.state);
    if (!snapshot.tokenizer_dir.empty())
      copy_folder_durably(snapshot.tokenizer_dir, partial / kCheckpointTokenizerDir);
    write_checksum_index(partial);
    sync_directory(partial);
    if (fs::exists(final_dir)) {
      // An abandoned run's checkpoint of the same step: out of the way first, atomically.
      const fs::path old = checkpoints_dir / (kDeletingPrefix + name);
      remove_quietly(old);
      fs::rename(final_dir, old);
      fs::rename(partial, final_dir);
      remove_quietly(old);
    } else {
      fs::rename(partial, final_dir);
    }
    sync_directory(checkpoints_dir);
    const fs::path latest_tmp = checkpoints_dir / (std::string(kPartialPrefix) + kLatestFile);
    write_text(latest_tmp, name + "\n", "checkpoint pointer");
    fs::rename(latest_tmp, checkpoints_dir / kLatestFile);
    sync_directory(checkpoints_dir);
  } catch (const fs::filesystem_error& e) {
    remove_quietly(partial);
    throw DataError("cannot write checkpoint " + final_dir.string() + ": " + e.what(),
                    "check that the disk is not full and the folder is writable");
  } catch (...) {
    remove_quietly(partial);
    throw;
  }
  return final_dir;
}

void verify_checkpoint(const fs::path& dir) { verify_checksum_index(dir, required_files()); }

LoadedCheckpoint read_checkpoint(const fs::path& dir) {
  verify_checkpoint(dir);
  return read_verified_checkpoint(dir);
}

LoadedCheckpoint read_verified_checkpoint(const fs::path& dir) {
  LoadedCheckpoint loaded;
  loaded.dir = dir;
  loaded.state = read_checkpoint_state(dir / kStateFile);
  loaded.manifest_text = read_text(dir / kManifestFile);
  loaded.model = read_safetensors(dir / kModelFile);
  loaded.optimizer = read_safetensors(dir / kOptimizerFile);
  loaded.rng = read_safetensors(dir / kRngFile);
  return loaded;
}

std::optional<CheckpointEntry> latest_valid_checkpoint(const fs::path& checkpoints_dir,
                                                       const std::function<void(const std::string&)>& warn) {
  std::vector<CheckpointEntry> entries = list_checkpoints(checkpoints_dir);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    try {
      verify_checkpoint(it->dir);
      return *it;
    } catch (const Error& e) {
      if (warn) warn("skipping checkpoint " + it->dir.string() + ": " + e.what());
    }
  }
  return std::nullopt;
}

std::vector<std::int64_t> apply_retention(const fs::path& checkpoints_dir, const RetentionPolicy& policy) {
  const std::vector<CheckpointEntry> entries = list_checkpoints(checkpoints_dir);
  std::vector<std::int64_t> deleted;
  const std::size_t count = entries.size();
  for (std::size_t i = 0; i + 1 < count; ++i) {  // the newest always stays
    const CheckpointEntry& entry = entries[i];
    const bool recent = policy.keep_last <= 0 || count - i <= static_cast<std::size_t>(policy.keep_last);
    const bool milestone = policy.keep_every > 0 && entry.step % policy.keep_every == 0;
    if (recent || milestone) continue;
    const fs::path doomed = checkpoints_dir / (kDeletingPrefix + entry.dir.filename().string());
    std::error_code error;
    fs::rename(entry.dir, doomed, error);
    if (error) continue;  // someone else's business now; never fail a run over clean-up
    remove_quietly(doomed);
    deleted.push_back(entry.step);
  }
  return deleted;
}

void remove_unfinished_checkpoints(const fs::path& checkpoints_dir) {
  std::error_code error;
  if (!fs::is_directory(checkpoints_dir, error)) return;
  std::vector<fs::path> leftovers;
  for (const fs::directory_entry& entry : fs::directory_iterator(checkpoints_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPartialPrefix, 0) == 0 || name.rfind(kDeletingPrefix, 0) == 0)
      leftovers.push_back(entry.path());
  }
  for (const fs::path& path : leftovers) remove_quietly(path);
}

fs::path resolve_checkpoint(const fs::path& path, const std::function<void(const std::string&)>& warn) {
  std::error_code error;
  if (!fs::exists(path, error)) throw DataError("no such checkpoint or run folder: " + path.string());
  if (is_checkpoint_dir(path)) {
    verify_checkpoint(path);
    return path;
  }
  const fs::path checkpoints = fs::is_directory(path / kCheckpointsDir) ? path / kCheckpointsDir : path;
  if (auto entry = latest_valid_checkpoint(checkpoints, warn)) return entry->dir;
  throw DataError("no valid checkpoint in " + checkpoints.string(),
                  list_checkpoints(checkpoints).empty()
                      ? "train the run first, with [checkpoint] every_steps or at_end = true"
                      : "every checkpoint there failed verification (see the warnings above)");
}

}  // namespace anvil::core
