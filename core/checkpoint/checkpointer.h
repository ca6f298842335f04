#pragma once
// Saves checkpoints of a run, synchronously or on a background thread, and applies retention.
//
// Asynchronous saves: save() takes a snapshot whose tensors are copies (so training may go on
// changing the live ones), waits for the previous write if it is still running, and returns;
// a thread writes the folder. An error of that write is rethrown by the next save() or wait().

#include "checkpoint/checkpoint_io.h"

#include <condition_variable>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

namespace anvil::core {

class Checkpointer {
 public:
  /// Removes folders left by an interrupted save or deletion in `checkpoints_dir`.
  Checkpointer(std::filesystem::path checkpoints_dir, RetentionPolicy retention, bool async);
  /// Waits for a write in progress (errors are logged, not thrown).
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  /// Writes `snapshot` and applies the retention policy: now, or on the writer thread when
  /// asynchronous (its tensors must then be copies nobody else changes).
  void save(CheckpointSnapshot snapshot);
  /// Waits until no write is in progress; rethrows the error of a failed asynchronous write.
  void wait();
  /// Waits until no write is in progress and hands back the tensors of the last asynchronous
  /// snapshot written, for the next snapshot to copy into (no fresh allocation, no page faults);
  /// empty before the first. Rethrows like wait().
  CheckpointSnapshot take_staging();

  bool async() const noexcept { return async_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  /// The folder of the last completed write, and how long writing it took (seconds).
  std::optional<std::filesystem::path> last_written() const;
  double last_write_seconds() const;
  /// Bytes of the last completed write's safetensors files.
  std::uint64_t last_write_bytes() const;

 private:
  void write(const CheckpointSnapshot& snapshot);
  void worker();

  std::filesystem::path dir_;
  RetentionPolicy retention_;
  bool async_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<CheckpointSnapshot> pending_;
  CheckpointSnapshot staging_;  // the last written snapshot's buffers, for reuse
  bool busy_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::optional<std::filesystem::path> last_written_;
  double last_write_seconds_ = 0;
  std::uint64_t last_write_bytes_ = 0;
  std::thread thread_;  // last: started after every other member exists
};

}  // namespace anvil::core
