// Checkpoint write and read speed: a synthetic checkpoint of a model with N fp32 parameters and
// an Adam-like optimizer state (two moments), written with write_checkpoint (every file fsynced,
// checksums, rename) and verified with its checksums; plus the cost of the host copy an
// asynchronous save takes before training continues.
//
// usage: checkpoint_bench <folder> [parameters in millions, default 250] [repeats, default 3]
#include "checkpoint/checkpoint_io.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using namespace anvil::core;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <folder> [parameters in millions] [repeats]\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  const std::int64_t millions = argc > 2 ? std::atoll(argv[2]) : 250;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;

  // 16 "layers" of equal size, so that files hold many tensors as a real model does.
  const std::int64_t per_tensor = millions * 1'000'000 / 16;
  CheckpointSnapshot snapshot;
  snapshot.manifest_text = "[run]\nname = \"bench\"\n";
  for (int i = 0; i < 16; ++i) {
    const std::string name = "layers." + std::to_string(i) + ".weight";
    snapshot.model.emplace_back(name, at::randn({per_tensor}));
    snapshot.optimizer.emplace_back(name + ".exp_avg", at::randn({per_tensor}));
    snapshot.optimizer.emplace_back(name + ".exp_avg_sq", at::rand({per_tensor}));
  }
  snapshot.rng = {{"cpu", at::zeros({5056}, at::kByte)}};
  snapshot.state.loader = "anvil-loader 1 sequences=0 seed=1 seq_len=8 windows=10";
  const double bytes = 3.0 * 4.0 * static_cast<double>(per_tensor) * 16;

  std::printf("checkpoint of %lld M fp32 parameters + 2 moments: %.2f GB, %d threads\n",
              static_cast<long long>(millions), bytes / 1e9, at::get_num_threads());
  double best_write = 1e30, best_verify = 1e30, best_copy = 1e30, best_reuse = 1e30;
  for (int r = 0; r < repeats; ++r) {
    Clock::time_point start = Clock::now();
    StateDict copies;
    for (const auto& [name, tensor] : snapshot.model) copies.emplace_back(name, tensor.clone());
    for (const auto& [name, tensor] : snapshot.optimizer) copies.emplace_back(name, tensor.clone());
    best_copy = std::min(best_copy, seconds_since(start));
    // The Checkpointer hands the last snapshot's buffers back: later copies reuse them.
    start = Clock::now();
    std::size_t i = 0;
    for (const auto& [name, tensor] : snapshot.model) copies[i++].second.copy_(tensor);
    for (const auto& [name, tensor] : snapshot.optimizer) copies[i++].second.copy_(tensor);
    best_reuse = std::min(best_reuse, seconds_since(start));
    copies.clear();

    start = Clock::now();
    const fs::path written = write_checkpoint(root, snapshot);
    best_write = std::min(best_write, seconds_since(start));
    start = Clock::now();
    verify_checkpoint(written);
    best_verify = std::min(best_verify, seconds_since(start));
    fs::remove_all(written);
  }
  std::printf("write (fsync, checksums, rename)   %6.2f s  %5.2f GB/s\n", best_write, bytes / best_write / 1e9);
  std::printf("verify (read back, XXH3-128)       %6.2f s  %5.2f GB/s\n", best_verify, bytes / best_verify / 1e9);
  std::printf("async snapshot, first (allocates)  %6.2f s  %5.2f GB/s\n", best_copy, bytes / best_copy / 1e9);
  std::printf("async snapshot, later (reuses)     %6.2f s  %5.2f GB/s\n", best_reuse, bytes / best_reuse / 1e9);
  fs::remove_all(root);
  return 0;
}
