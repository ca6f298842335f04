#include "cli/command.h"
#include "host/blas_setup.h"

int main(int argc, char** argv) {
  // First: it may re-execute the binary so OpenBLAS loads with the right kernels.
  anvil::core::ensure_fast_blas(argc, argv);
  return anvil::core::run_cli(argc, argv);
}
