#include "host/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstdint>
#include <cstring>
#include <vector>

namespace anvil::core {
namespace {

#if defined(__x86_64__) || defined(__i386__)

struct Registers {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// __get_cpuid_count returns 0 for a leaf above the maximum; the registers stay zero then, so
// every feature read from them is simply absent.
Registers cpuid(unsigned leaf, unsigned subleaf = 0) {
  Registers r;
  __get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx);
  return r;
}

bool bit(unsigned value, int index) { return (value >> index) & 1U; }

// XCR0: which register state the OS saves on a context switch. Only call with OSXSAVE set,
// otherwise XGETBV faults. Written as bytes so no -mxsave is needed.
std::uint64_t xcr0() {
  std::uint32_t low = 0, high = 0;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(low), "=d"(high) : "c"(0));
  return (static_cast<std::uint64_t>(high) << 32) | low;
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(' ');
  return text.substr(first, last - first + 1);
}

std::string brand_string() {
  if (cpuid(0x80000000).eax < 0x80000004) return {};
  char text[49] = {};
  for (unsigned i = 0; i < 3; ++i) {
    const Registers r = cpuid(0x80000002 + i);
    std::memcpy(text + 16 * i, &r.eax, 4);
    std::memcpy(text + 16 * i + 4, &r.ebx, 4);
    std::memcpy(text + 16 * i + 8, &r.ecx, 4);
    std::memcpy(text + 16 * i + 12, &r.edx, 4);
  }
  return trim(text);
}

CpuFeatures read_cpu_features() {
  CpuFeatures cpu;
  const Registers leaf0 = cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor, &leaf0.ebx, 4);
  std::memcpy(vendor + 4, &leaf0.edx, 4);
  std::memcpy(vendor + 8, &leaf0.ecx, 4);
  cpu.vendor = vendor;
  cpu.model_name = brand_string();

  const unsigned max_leaf = leaf0.eax;
  const Registers leaf1 = cpuid(1);
  const bool osxsave = bit(leaf1.ecx, 27);
  const std::uint64_t xcr = osxsave ? xcr0() : 0;
  const bool ymm_state = (xcr & 0x6) == 0x6;            // SSE + AVX state
  const bool zmm_state = ymm_state && (xcr & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool tile_state = (xcr & 0x60000) == 0x60000;   // XTILECFG + XTILEDATA

  cpu.fma = ymm_state && bit(leaf1.ecx, 12) && bit(leaf1.ecx, 28);
  if (max_leaf < 7) return cpu;
  const Registers leaf7 = cpuid(7, 0);
  cpu.avx2 = ymm_state && bit(leaf7.ebx, 5);
  // F (16), DQ (17), BW (30), VL (31): the subset OpenBLAS's SkylakeX kernels are built for.
  cpu.avx512 = zmm_state && bit(leaf7.ebx, 16) && bit(leaf7.ebx, 17) && bit(leaf7.ebx, 30) &&
               bit(leaf7.ebx, 31);
  cpu.amx_bf16 = tile_state && bit(leaf7.edx, 22) && bit(leaf7.edx, 24);
  if (leaf7.eax >= 1) cpu.avx512_bf16 = cpu.avx512 && bit(cpuid(7, 1).eax, 5);
  return cpu;
}

#else

CpuFeatures read_cpu_features() { return {}; }

#endif

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = read_cpu_features();
  return features;
}

std::string describe(const CpuFeatures& cpu) {
  std::vector<const char*> names;
  if (cpu.avx2) names.push_back("AVX2");
  if (cpu.fma) names.push_back("FMA");
  if (cpu.avx512) names.push_back("AVX-512");
  if (cpu.avx512_bf16) names.push_back("AVX512-BF16");
  if (cpu.amx_bf16) names.push_back("AMX-BF16");
  std::string text = !cpu.model_name.empty() ? cpu.model_name
                     : !cpu.vendor.empty()   ? cpu.vendor
                                             : "unknown CPU";
  text += " (";
  for (std::size_t i = 0; i < names.size(); ++i) text += (i ? ", " : "") + std::string(names[i]);
  if (names.empty()) text += "no AVX2";
  return text + ")";
}

}  // namespace anvil::core
