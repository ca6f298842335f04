// Token shard throughput: writing a synthetic uint16 dataset with ShardWriter, opening it with
// checksum verification, and reading batches with TrainLoader and ValidationBatches.
//
// usage: anvil_loader_bench [folder] [million tokens]
//   folder          where the dataset goes (default: a temporary folder, removed at the end)
//   million tokens  size of the train split (default 200)
#include "data/token_loader.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace anvil::core;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A fast deterministic generator (splitmix64): generation must not dominate the write time.
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t x = (state += 0x9E3779B97F4A7C15ULL);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

constexpr std::int32_t kVocab = 50257;
constexpr std::int32_t kEos = 50256;

void write_dataset(const fs::path& dir, std::uint64_t tokens) {
  const auto start = Clock::now();
  ShardWriter writer(dir, "train", TokenType::uint16, 64ULL << 20);
  Random random{42};
  std::vector<std::int32_t> document;
  std::uint64_t written = 0;
  while (written < tokens) {
    document.resize(100 + random.below(4901));
    for (auto& id : document) id = static_cast<std::int32_t>(random.below(kVocab - 1));
    document.back() = kEos;
    writer.add_document(document.data(), document.size());
    written += document.size();
  }
  DatasetInfo info;
  info.created_by = "anvil_loader_bench";
  // Datasets carry the tokenizer that made them; a stand-in file is enough here.
  fs::create_directories(dir / kDatasetTokenizerDir);
  std::ofstream(dir / kDatasetTokenizerDir / "synthetic.txt") << "synthetic ids\n";
  info.tokenizer = {"synthetic", kVocab, kEos, "<|endoftext|>",
                    fingerprint_folder(dir / kDatasetTokenizerDir)};
  info.splits["train"] = writer.finish();
  write_dataset_info(dir, info);
  const double elapsed = seconds_since(start);
  const SplitInfo& split = info.splits["train"];
  std::printf("write: %.1fM tokens, %llu documents, %zu shards in %.2f s (%.0f MB/s, generation included)\n",
              static_cast<double>(split.tokens) / 1e6, static_cast<unsigned long long>(split.documents),
              split.shards.size(), elapsed, static_cast<double>(split.tokens) * 2 / 1e6 / elapsed);
}

std::uint64_t dataset_bytes(const fs::path& dir) {
  std::uint64_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".tokens" || entry.path().extension() == ".index")
      bytes += entry.file_size();
  return bytes;
}

/// Runs `pass` (which returns its token count) three times; prints the best and worst rate.
template <class Pass>
void report(const char* label, std::uint64_t batches, Pass pass) {
  double best = 1e300;
  double worst = 0;
  std::uint64_t tokens = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto start = Clock::now();
    tokens = pass();
    const double elapsed = seconds_since(start);
    best = std::min(best, elapsed);
    worst = std::max(worst, elapsed);
  }
  std::printf("%-34s %7.1fM tokens/s (worst of 3: %6.1fM), %7.1f us/batch, %llu batches\n", label,
              static_cast<double>(tokens) / best / 1e6, static_cast<double>(tokens) / worst / 1e6,
              best / static_cast<double>(batches) * 1e6, static_cast<unsigned long long>(batches));
}

void bench_train(const TokenStream& stream, std::int64_t seq_len, std::int64_t batch_size, int prefetch,
                 std::uint64_t batches) {
  LoaderOptions options;
  options.seq_len = seq_len;
  options.batch_size = batch_size;
  options.prefetch = prefetch;
  TrainLoader loader(stream, options);
  loader.next();  // thread start, first allocations
  std::int64_t sink = 0;
  char label[64];
  std::snprintf(label, sizeof label, "train %lld x %lld, prefetch %d:", static_cast<long long>(seq_len),
                static_cast<long long>(batch_size), prefetch);
  report(label, batches, [&] {
    for (std::uint64_t i = 0; i < batches; ++i) sink += loader.next().target.back();
    return batches * static_cast<std::uint64_t>(seq_len * batch_size);
  });
  if (sink == 42) std::printf(" ");  // keeps the batches observable
}

void bench_validation(const TokenStream& stream, std::int64_t seq_len, std::int64_t batch_size) {
  ValidationBatches batches(stream, seq_len, batch_size);
  TokenBatch batch;
  std::int64_t sink = 0;
  const std::uint64_t count = (stream.size() - 1 + static_cast<std::uint64_t>(seq_len * batch_size) - 1) /
                              static_cast<std::uint64_t>(seq_len * batch_size);
  char label[64];
  std::snprintf(label, sizeof label, "valid %lld x %lld, full pass:", static_cast<long long>(seq_len),
                static_cast<long long>(batch_size));
  report(label, count, [&] {
    batches.reset();
    while (batches.next(batch)) sink += batch.target.back();
    return stream.size();
  });
  if (sink == 42) std::printf(" ");
}

int run(const fs::path& dir, std::uint64_t tokens) {
  write_dataset(dir, tokens);
  const double bytes = static_cast<double>(dataset_bytes(dir));

  auto start = Clock::now();
  const Dataset verified = Dataset::open(dir);
  double elapsed = seconds_since(start);
  std::printf("open with checksums: %.3f s, %.2f GB/s over %.0f MB (page cache warm)\n", elapsed,
              bytes / 1e9 / elapsed, bytes / 1e6);
  start = Clock::now();
  const Dataset dataset = Dataset::open(dir, {false});
  std::printf("open without checksums: %.3f ms\n", seconds_since(start) * 1e3);

  // The loaders read through the verified mapping, as a training run does by default.
  const TokenStream& stream = verified.split("train");
  for (const int prefetch : {0, 2}) {
    bench_train(stream, 1024, 8, prefetch, 4000);
    bench_train(stream, 2048, 16, prefetch, 1000);
  }
  bench_validation(stream, 1024, 8);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool temporary = argc < 2;
  const fs::path dir = temporary
                           ? fs::temp_directory_path() / ("anvil_loader_bench_" + std::to_string(::getpid()))
                           : fs::path(argv[1]);
  const std::uint64_t tokens = (argc > 2 ? std::stoull(argv[2]) : 200) * 1000000ULL;
  fs::create_directories(dir);
  int status = 1;
  try {
    status = run(dir, tokens);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
  }
  if (temporary) fs::remove_all(dir);
  return status;
}
