#pragma once
// Benchmarks run with OMP_WAIT_POLICY=PASSIVE, as `anvil train` does with a pthreads OpenBLAS
// (docs/performance.md): otherwise LibTorch's OpenMP threads spin after each elementwise op on
// the cores OpenBLAS needs next, which on 2 cores makes layers of many small ops several times
// slower. libgomp reads the variable while it loads, before main(), so the benchmark sets it
// and starts itself again. A value already set is kept.

#include <cstdio>
#include <cstdlib>

#include <unistd.h>

namespace anvil::bench {

/// Call first in main(): returns only once OMP_WAIT_POLICY is set (or re-executing failed).
inline void ensure_passive_omp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);
  std::perror("execv /proc/self/exe (running with the default OMP_WAIT_POLICY)");
}

}  // namespace anvil::bench
