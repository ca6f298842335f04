#include "checkpoint/checkpointer.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace fs = std::filesystem;

namespace anvil::core {

Checkpointer::Checkpointer(fs::path checkpoints_dir, RetentionPolicy retention, bool async)
    : dir_(std::move(checkpoints_dir)), retention_(retention), async_(async) {
  remove_unfinished_checkpoints(dir_);
  if (async_) thread_ = std::thread([this] { worker(); });
}

Checkpointer::~Checkpointer() {
  if (!thread_.joinable()) return;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !busy_ && !pending_; });
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  if (error_) {
    try {
      std::rethrow_exception(error_);
    } catch (const std::exception& e) {
      spdlog::error("the last checkpoint was not saved: {}", e.what());
    }
  }
}

void Checkpointer::write(const CheckpointSnapshot& snapshot) {
  const auto start = std::chrono::steady_clock::now();
  const fs::path written = write_checkpoint(dir_, snapshot);
  std::uint64_t bytes = 0;
  for (const char* file : {kModelFile, kOptimizerFile, kRngFile}) bytes += fs::file_size(written / file);
  for (std::int64_t step : apply_retention(dir_, retention_))
    spdlog::debug("deleted checkpoint {} (retention)", step_dir_name(step));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::lock_guard lock(mutex_);
  last_written_ = written;
  last_write_seconds_ = seconds;
  last_write_bytes_ = bytes;
}

void Checkpointer::save(CheckpointSnapshot snapshot) {
  if (!async_) {
    write(snapshot);
    return;
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !busy_ && !pending_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  pending_ = std::move(snapshot);
  lock.unlock();
  changed_.notify_all();
}

void Checkpointer::wait() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !busy_ && !pending_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

CheckpointSnapshot Checkpointer::take_staging() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !busy_ && !pending_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  return std::exchange(staging_, CheckpointSnapshot{});
}

void Checkpointer::worker() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || pending_.has_value(); });
    if (!pending_) return;  // stopping, nothing left
    CheckpointSnapshot snapshot = std::move(*pending_);
    pending_.reset();
    busy_ = true;
    lock.unlock();
    try {
      write(snapshot);
    } catch (...) {
      lock.lock();
      error_ = std::current_exception();
      lock.unlock();
    }
    lock.lock();
    staging_ = std::move(snapshot);  // kept for the next snapshot to copy into
    busy_ = false;
    changed_.notify_all();
  }
}

std::optional<fs::path> Checkpointer::last_written() const {
  std::lock_guard lock(mutex_);
  return last_written_;
}

double Checkpointer::last_write_seconds() const {
  std::lock_guard lock(mutex_);
  return last_write_seconds_;
}

std::uint64_t Checkpointer::last_write_bytes() const {
  std::lock_guard lock(mutex_);
  return last_write_bytes_;
}

}  // namespace anvil::core
