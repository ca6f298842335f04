#pragma once
// The trainer's side of checkpoints: what a snapshot takes from the running job (weights,
// optimizer state, generators, loader position, counters), putting it back on resume, and the
// step hook that decides when to save (every N steps, every M minutes, at the end, on a signal,
// at --stop-at-step).

#include "checkpoint/checkpoint_io.h"
#include "checkpoint/checkpointer.h"
#include "data/token_loader.h"
#include "metrics/metrics_file.h"
#include "metrics/train_progress.h"
#include "train/train_config.h"
#include "train/trainer.h"

#include <anvil/model.h>
#include <anvil/optimizer.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace anvil::core {

/// The model's parameters and buffers by module name ("layers.0.attention.wq.weight").
StateDict model_state(Model& model);
/// Copies `saved` (read from `file`) into the model's parameters and buffers. Throws DataError
/// naming the file and the tensor that is missing, unexpected, or of another shape or dtype.
void load_model_state(Model& model, const StateDict& saved, const std::filesystem::path& file);

/// The states of the default generators: "cpu", and "cuda:N" for each GPU.
StateDict generator_states();
/// Restores generator_states(); GPUs missing now are skipped with a warning.
void restore_generator_states(const StateDict& saved, const std::filesystem::path& file);

/// What a snapshot takes from the running job besides the position.
struct CheckpointSources {
  Model& model;
  Optimizer& optimizer;
  const TrainLoader& loader;
  std::string manifest_text;            ///< the resolved manifest, paths absolute
  std::filesystem::path tokenizer_dir;  ///< the dataset's tokenizer folder
  std::vector<PluginRecord> plugins;
};

/// A snapshot of the job at `position`; with `copy`, every tensor is copied to CPU memory the
/// snapshot owns (asynchronous saves), into the tensors of `staging` where names, shapes and
/// dtypes match (an earlier snapshot's, reused), otherwise the live tensors are referenced.
CheckpointSnapshot take_snapshot(const CheckpointSources& sources, const TrainPosition& position,
                                 bool copy, CheckpointSnapshot staging = {});

/// Puts a loaded checkpoint back: weights, optimizer state, generators, loader position.
/// Returns the position to train from.
/// Throws DataError when `checkpoint` was written by an Anvil before 0.5 (its anvil_version):
/// those prepared datasets of format version 1, which encoded special-token text inside
/// documents as special tokens, so the run must not continue on a dataset prepared now.
void check_checkpoint_data_format(const LoadedCheckpoint& checkpoint);

TrainPosition restore_checkpoint(const LoadedCheckpoint& checkpoint, Model& model,
                                 Optimizer& optimizer, TrainLoader& loader);

/// Saves checkpoints on the manifest's cadence, on SIGINT/SIGTERM, and at `stop_at_step`,
/// ending training after the last two.
class CheckpointHook final : public StepHook {
 public:
  /// Each save is recorded in `metrics` (when not null) as a "checkpoint" event with the
  /// seconds training waited for it.
  CheckpointHook(CheckpointSources sources, Checkpointer& checkpointer, const CheckpointConfig& config,
                 std::int64_t stop_at_step, TrainProgress& progress, MetricsFile* metrics);
  bool after_step(const TrainPosition& position, bool last) override;
  /// The signal that stopped training, or 0.
  int stopped_by_signal() const noexcept { return signal_; }

 private:
  void save(const TrainPosition& position);

  CheckpointSources sources_;
  Checkpointer& checkpointer_;
  CheckpointConfig config_;
  std::int64_t stop_at_step_;
  TrainProgress& progress_;
  MetricsFile* metrics_;
  std::chrono::steady_clock::time_point last_save_;
  int signal_ = 0;
};

}  // namespace anvil::core
