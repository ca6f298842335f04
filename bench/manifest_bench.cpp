// How long "fail before compute" takes: plugin discovery and loading (first time in a process,
// which is what every `anvil` invocation pays) and manifest load + validation (repeated).
//
// usage: manifest_bench <plugin dir> [manifest] [iterations]
#include "manifest/validate.h"
#include "plugin/plugin_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {
using Clock = std::chrono::steady_clock;
double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: manifest_bench <plugin dir> [manifest] [iterations]\n");
    return 2;
  }
  const std::string plugin_dir = argv[1];
  const std::string manifest_path =
      argc > 2 ? argv[2] : std::string(ANVIL_SOURCE_DIR) + "/configs/tiny-bigram.toml";
  const int iterations = argc > 3 ? std::stoi(argv[3]) : 2000;
  spdlog::set_level(spdlog::level::warn);

  anvil::core::PluginHost host;
  const auto load_start = Clock::now();
  host.discover({plugin_dir});
  const double load_us = micros_since(load_start);

  std::vector<double> samples;
  samples.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    const auto start = Clock::now();
    anvil::core::Manifest manifest = anvil::core::Manifest::load(manifest_path);
    anvil::core::validate_manifest(manifest, host);
    samples.push_back(micros_since(start));
  }
  std::sort(samples.begin(), samples.end());
  std::printf("plugins: %zu libraries, %zu components, first load %.0f us\n",
              host.libraries().size(), host.components().size(), load_us);
  std::printf("manifest load+validate (%s, extends 1 file): median %.1f us, p90 %.1f us over %d runs\n",
              manifest_path.c_str(), samples[samples.size() / 2], samples[samples.size() * 9 / 10],
              iterations);
  return 0;
}
