#include "train/train_checkpoint.h"

#include "train/stop_signals.h"

#include <anvil/errors.h>
#include <anvil/version.h>

#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>

#include <cstdio>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

constexpr const char* kMismatchHint =
    "the checkpoint was written by a run with another model configuration; resume with the "
    "manifest saved in the checkpoint";

std::vector<std::pair<std::string, at::Tensor>> live_model_tensors(Model& model) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : model.module().named_parameters()) tensors.emplace_back(item.key(), item.value());
  for (const auto& item : model.module().named_buffers()) tensors.emplace_back(item.key(), item.value());
  return tensors;
}

// The tensors of `state`, detached; with `copy`, copied to host memory: into the tensor of
// `buffers` at the same position when it matches (reused staging memory), else a new one.
StateDict copied(StateDict state, bool copy, const StateDict& buffers) {
  for (std::size_t i = 0; i < state.size(); ++i) {
    at::Tensor& tensor = state[i].second;
    if (!copy) {
      tensor = tensor.detach();
      continue;
    }
    const bool reusable = i < buffers.size() && buffers[i].first == state[i].first &&
                          buffers[i].second.sizes() == tensor.sizes() &&
                          buffers[i].second.scalar_type() == tensor.scalar_type();
    tensor = reusable ? buffers[i].second.copy_(tensor.detach())
                      : tensor.detach().to(at::kCPU, /*non_blocking=*/false, /*copy=*/true);
  }
  return state;
}

}  // namespace

StateDict model_state(Model& model) { return live_model_tensors(model); }

void load_model_state(Model& model, const StateDict& saved, const fs::path& file) {
  std::map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, tensor] : saved) by_name[name] = &tensor;
  at::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& [name, live] : live_model_tensors(model)) {
    const auto it = by_name.find(name);
    if (it == by_name.end())
      throw DataError(file.string() + ": no tensor \"" + name + "\" (the model has it)", kMismatchHint);
    const at::Tensor& stored = *it->second;
    if (stored.sizes() != live.sizes() || stored.scalar_type() != live.scalar_type())
      throw DataError(fmt::format("{}: tensor \"{}\" is {} {}, the model's is {} {}", file.string(), name,
                                  c10::toString(stored.scalar_type()), c10::str(stored.sizes()),
                                  c10::toString(live.scalar_type()), c10::str(live.sizes())),
                      kMismatchHint);
    live.copy_(stored);
    used.insert(name);
  }
  for (const auto& [name, tensor] : saved)
    if (!used.count(name))
      throw DataError(file.string() + ": tensor \"" + name + "\" is not part of the model", kMismatchHint);
}

StateDict generator_states() {
  at::Generator cpu = at::detail::getDefaultCPUGenerator();
  StateDict states{{"cpu", cpu.get_state()}};
  const int gpus = at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0;
  for (int i = 0; i < gpus; ++i) {
    const c10::Device device(c10::kCUDA, static_cast<c10::DeviceIndex>(i));
    at::Generator generator = at::globalContext().defaultGenerator(device);
    states.emplace_back(device.str(), generator.get_state());
  }
  return states;
}

void restore_generator_states(const StateDict& saved, const fs::path& file) {
  const int gpus = at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0;
  for (const auto& [name, state] : saved) {
    if (name == "cpu") {
      at::Generator cpu = at::detail::getDefaultCPUGenerator();
      cpu.set_state(state);
      continue;
    }
    const c10::Device device(name);
    if (!device.is_cuda() || device.index() >= gpus) {
      spdlog::warn("{}: generator \"{}\" has no device here; its state is not restored", file.string(), name);
      continue;
    }
    // The generator is shared with the device's kernels; its mutex guards state changes.
    at::Generator generator = at::globalContext().defaultGenerator(device);
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }
}

CheckpointSnapshot take_snapshot(const CheckpointSources& sources, const TrainPosition& position, bool copy,
                                 CheckpointSnapshot staging) {
  CheckpointSnapshot snapshot;
  CheckpointState& state = snapshot.state;
  state.step = position.step;
  state.tokens = position.tokens;
  state.skipped_steps = position.skipped_steps;
  state.loss_scale = position.loss_scale;
  state.loss_scale_good_steps = position.loss_scale_good_steps;
  state.train_seconds = position.train_seconds;
  state.loader = sources.loader.state().to_string();
  state.plugins = sources.plugins;
  state.anvil_version = ANVIL_VERSION_STRING;
  state.torch_version = TORCH_VERSION;
  snapshot.manifest_text = sources.manifest_text;
  snapshot.model = copied(model_state(sources.model), copy, staging.model);
  snapshot.optimizer = copied(sources.optimizer.state_dict(), copy, staging.optimizer);
  snapshot.rng = generator_states();  // get_state() already returns a copy
  snapshot.tokenizer_dir = sources.tokenizer_dir;
  return snapshot;
}

void check_checkpoint_data_format(const LoadedCheckpoint& checkpoint) {
  int major = 0, minor = 0;
  const std::string& version = checkpoint.state.anvil_version;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return;  // not ours to judge
  if (major > 0 || minor >= 5) return;
  throw DataError("cannot resume from " + checkpoint.dir.string() + ": it was written by Anvil " + version +
                      ", whose datasets (format version 1) encoded special-token text inside documents as "
                      "special tokens; a dataset prepared now (format 2) keeps it as text, so the run "
                      "would go on with differently tokenized data",
                  "start a new run (--restart, or another [run] name); `anvil export` and `anvil "
                  "generate` still read the checkpoint");
}

TrainPosition restore_checkpoint(const LoadedCheckpoint& checkpoint, Model& model, Optimizer& optimizer,
                                 TrainLoader& loader) {
  load_model_state(model, checkpoint.model.tensors, checkpoint.dir / kModelFile);
  try {
    optimizer.load_state_dict(checkpoint.optimizer.tensors);
  } catch (const Error& e) {
    throw DataError((checkpoint.dir / kOptimizerFile).string() + ": " + e.what(), kMismatchHint);
  }
  restore_generator_states(checkpoint.rng.tensors, checkpoint.dir / kRngFile);
  try {
    loader.restore(LoaderState::parse(checkpoint.state.loader));
  } catch (const Error& e) {
    throw DataError((checkpoint.dir / kStateFile).string() + ": loader: " + e.what(),
                    "the dataset changed since the checkpoint was written; prepare it as it was, or "
                    "start a new run");
  }
  TrainPosition position;
  position.step = checkpoint.state.step;
  position.tokens = checkpoint.state.tokens;
  position.skipped_steps = checkpoint.state.skipped_steps;
  position.train_seconds = checkpoint.state.train_seconds;
  position.loss_scale = checkpoint.state.loss_scale;
  position.loss_scale_good_steps = checkpoint.state.loss_scale_good_steps;
  return position;
}

CheckpointHook::CheckpointHook(CheckpointSources sources, Checkpointer& checkpointer,
                               const CheckpointConfig& config, std::int64_t stop_at_step,
                               TrainProgress& progress, MetricsFile* metrics)
    : sources_(std::move(sources)),
      checkpointer_(checkpointer),
      config_(config),
      stop_at_step_(stop_at_step),
      progress_(progress),
      metrics_(metrics),
      last_save_(std::chrono::steady_clock::now()) {}

bool CheckpointHook::after_step(const TrainPosition& position, bool last) {
  signal_ = StopSignals::received();
  const bool stop_here = stop_at_step_ > 0 && position.step == stop_at_step_;
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save_).count() / 60.0;
  const bool due = (last && config_.at_end) ||
                   (config_.every_steps > 0 && position.step % config_.every_steps == 0) ||
                   (config_.every_minutes > 0 && minutes >= config_.every_minutes);
  if (due || signal_ || stop_here) save(position);
  return signal_ != 0 || stop_here;
}

void CheckpointHook::save(const TrainPosition& position) {
  const auto start = std::chrono::steady_clock::now();
  const std::string name = step_dir_name(position.step);
  if (checkpointer_.async())
    checkpointer_.save(take_snapshot(sources_, position, true, checkpointer_.take_staging()));
  else
    checkpointer_.save(take_snapshot(sources_, position, false));
  last_save_ = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(last_save_ - start).count();
  if (metrics_)
    metrics_->write("checkpoint", position.step, {{"blocked_s", seconds}}, {{"async", checkpointer_.async() ? "true" : "false"}});
  if (checkpointer_.async()) {
    progress_.line(fmt::format("checkpoint {}: snapshot taken in {:.2f} s, writing in the background", name,
                               seconds));
  } else {
    progress_.line(fmt::format("checkpoint saved: {} ({:.1f} MB in {:.2f} s)",
                               (checkpointer_.dir() / name).string(),
                               static_cast<double>(checkpointer_.last_write_bytes()) / 1e6, seconds));
  }
}

}  // namespace anvil::core
