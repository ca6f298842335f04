#pragma once
// A file written with POSIX calls so that it can be fsynced before it counts as written: the
// dataset's shards and dataset.json, checkpoint files. Callers write to a temporary name and
// rename it once sync_and_close() returns.

#include <cstddef>
#include <filesystem>
#include <string>

namespace anvil::core {

class DurableFile {
 public:
  /// Creates (or truncates) `path`. `kind` names the file in errors ("safetensors file");
  /// `hint` says what to do about a failure. Throws DataError "cannot create <kind> 'path': why".
  explicit DurableFile(std::filesystem::path path, std::string kind = "",
                       std::string hint = "check that the disk is not full and the folder is writable");
  ~DurableFile();
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;

  /// Writes all of `data`, retrying short writes and interrupted calls.
  void write(const void* data, std::size_t size);
  /// fsync and close: after this the bytes survive a crash.
  void sync_and_close();
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  [[noreturn]] void fail(const char* what) const;
  std::filesystem::path path_;
  std::string kind_;
  std::string hint_;
  int fd_ = -1;
};

}  // namespace anvil::core
