// CPU features against the kernel's view (/proc/cpuinfo), the OPENBLAS_CORETYPE decision as a
// table, and the BLAS and matmul peak of this process. The last two need the machine that
// install-deps.sh sets up (libopenblas0-pthread as libblas.so.3).
#include "host/blas_setup.h"
#include "host/cpu_features.h"
#include "host/peak_flops.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

using anvil::core::CpuFeatures;
using anvil::core::openblas_coretype_override;

namespace {

struct CpuInfo {
  std::string model_name;
  std::set<std::string> flags;
};

// The first processor's "model name" and "flags" lines.
CpuInfo read_proc_cpuinfo() {
  CpuInfo info;
  std::ifstream file("/proc/cpuinfo");
  std::string line;
  const auto value = [&line] {
    const auto colon = line.find(':');
    std::string text = colon == std::string::npos ? "" : line.substr(colon + 1);
    const auto first = text.find_first_not_of(" \t");
    const auto last = text.find_last_not_of(" \t");
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  };
  while (std::getline(file, line)) {
    if (info.model_name.empty() && line.rfind("model name", 0) == 0) info.model_name = value();
    if (info.flags.empty() && line.rfind("flags", 0) == 0) {
      std::istringstream words(value());
      for (std::string flag; words >> flag;) info.flags.insert(flag);
    }
  }
  return info;
}

CpuFeatures with_avx512(bool avx512) {
  CpuFeatures cpu;
  cpu.avx2 = cpu.fma = true;
  cpu.avx512 = avx512;
  return cpu;
}

}  // namespace

TEST_CASE("host CPU features agree with /proc/cpuinfo", "[host]") {
  const CpuInfo proc = read_proc_cpuinfo();
  REQUIRE_FALSE(proc.flags.empty());
  const CpuFeatures& cpu = anvil::core::cpu_features();
  CHECK(cpu.model_name == proc.model_name);
  // The kernel lists a flag only when it also enabled the state (XCR0), as cpu_features() does.
  CHECK(cpu.avx2 == (proc.flags.count("avx2") == 1));
  CHECK(cpu.fma == (proc.flags.count("fma") == 1));
  const bool proc_avx512 = proc.flags.count("avx512f") && proc.flags.count("avx512bw") &&
                           proc.flags.count("avx512vl") && proc.flags.count("avx512dq");
  CHECK(cpu.avx512 == proc_avx512);
  CHECK(cpu.avx512_bf16 == (proc_avx512 && proc.flags.count("avx512_bf16") == 1));
  CHECK(cpu.amx_bf16 == (proc.flags.count("amx_bf16") && proc.flags.count("amx_tile")));
  CHECK_FALSE(cpu.vendor.empty());
  CHECK_THAT(anvil::core::describe(cpu), Catch::Matchers::StartsWith(proc.model_name + " ("));
}

TEST_CASE("host BLAS setup overrides OPENBLAS_CORETYPE only for a mis-detected AVX-512 CPU",
          "[host]") {
  SECTION("a coretype the user set wins") {
    CHECK_FALSE(openblas_coretype_override(with_avx512(true), "Haswell", "Haswell"));
    CHECK_FALSE(openblas_coretype_override(with_avx512(true), "Haswell", "SkylakeX"));
  }
  SECTION("an empty variable counts as unset") {
    CHECK(openblas_coretype_override(with_avx512(true), "Haswell", "") == "SkylakeX");
  }
  SECTION("no AVX-512 means never: SkylakeX kernels die with SIGILL") {
    CHECK_FALSE(openblas_coretype_override(with_avx512(false), "Haswell", nullptr));
    CHECK_FALSE(openblas_coretype_override(with_avx512(false), "Zen", nullptr));
    CHECK_FALSE(openblas_coretype_override(CpuFeatures{}, "Prescott", nullptr));
  }
  SECTION("AVX-512 with a non-AVX-512 core gets SkylakeX") {
    CHECK(openblas_coretype_override(with_avx512(true), "Haswell", nullptr) == "SkylakeX");
    CHECK(openblas_coretype_override(with_avx512(true), "Zen", nullptr) == "SkylakeX");
    CHECK(openblas_coretype_override(with_avx512(true), "", nullptr) == "SkylakeX");
  }
  SECTION("an AVX-512 core is kept, in any case") {
    for (const char* core : {"SkylakeX", "skylakex", "SKYLAKEX", "CooperLake", "Cooperlake",
                             "SapphireRapids", "sapphirerapids"})
      CHECK_FALSE(openblas_coretype_override(with_avx512(true), core, nullptr));
  }
}

TEST_CASE("host BLAS is the OpenBLAS behind libblas.so.3", "[host]") {
  const anvil::core::BlasInfo blas = anvil::core::blas_info();
  INFO(anvil::core::describe(blas) << " from " << blas.library_path);
  CHECK(blas.name == "OpenBLAS");
  CHECK(blas.fast);
  CHECK_FALSE(blas.version.empty());
  CHECK(blas.version.find('.') != std::string::npos);
  CHECK_FALSE(blas.core.empty());
  CHECK_THAT(blas.config, Catch::Matchers::StartsWith("OpenBLAS " + blas.version));
  CHECK_THAT(blas.library_path, Catch::Matchers::Contains("libblas.so"));
  CHECK_THAT(anvil::core::describe(blas),
             Catch::Matchers::StartsWith("OpenBLAS " + blas.version + " (core " + blas.core));
}

TEST_CASE("host BLAS setup asks OpenMP threads to sleep only for pthreads OpenBLAS training", "[host]") {
  using anvil::core::omp_wait_policy_override;
  anvil::core::BlasInfo openblas;
  openblas.name = "OpenBLAS";
  openblas.parallel = "pthreads";
  CHECK(omp_wait_policy_override(openblas, true, nullptr) == std::optional<std::string>("PASSIVE"));
  CHECK(omp_wait_policy_override(openblas, true, "") == std::optional<std::string>("PASSIVE"));
  CHECK_FALSE(omp_wait_policy_override(openblas, false, nullptr));     // not training
  CHECK_FALSE(omp_wait_policy_override(openblas, true, "ACTIVE"));     // the user's choice wins
  openblas.parallel = "openmp";
  CHECK_FALSE(omp_wait_policy_override(openblas, true, nullptr));      // shares LibTorch's threads
  anvil::core::BlasInfo reference;
  reference.name = "reference BLAS";
  CHECK_FALSE(omp_wait_policy_override(reference, true, nullptr));
  // This machine's libblas.so.3 is the pthreads build (libopenblas0-pthread).
  CHECK(anvil::core::blas_info().parallel == "pthreads");
}

TEST_CASE("host fp32 matmul peak on CPU is a plausible number", "[host]") {
  const auto peak = anvil::core::measure_matmul(c10::Device(c10::kCPU), c10::kFloat, 0.1);
  INFO(peak.flops_per_second / 1e9 << " GFLOP/s at n=" << peak.n);
  CHECK(peak.flops_per_second > 1e9);
  CHECK(peak.flops_per_second < 1e13);
  CHECK((peak.n >= 256 && peak.n <= 1024));
  CHECK(peak.threads >= 1);
}

TEST_CASE("host auto precision is bf16 only where bf16 matmuls are fast", "[host]") {
  const c10::Device cpu(c10::kCPU);
  const c10::Device cuda(c10::kCUDA, 0);
  CpuFeatures plain = with_avx512(true);
  CHECK_FALSE(anvil::core::bf16_is_fast(cpu, plain));
  CHECK(std::string(anvil::core::resolve_auto_precision(cpu, plain)) == "fp32");
  CHECK(std::string(anvil::core::resolve_auto_precision(cuda, plain)) == "bf16");
  CpuFeatures amx = plain;
  amx.amx_bf16 = true;
  CHECK(std::string(anvil::core::resolve_auto_precision(cpu, amx)) == "bf16");
  CpuFeatures avx512_bf16 = plain;
  avx512_bf16.avx512_bf16 = true;
  CHECK(anvil::core::bf16_is_fast(cpu, avx512_bf16));
}
