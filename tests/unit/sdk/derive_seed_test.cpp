// anvil::derive_seed: SplitMix64 of run_seed + golden ratio * (purpose + 1). The first value is
// SplitMix64's published first output for seed 0; the others were computed with Python's
// integers from the same definition.
#include <anvil/context.h>

#include <catch2/catch.hpp>

#include <cstdint>

TEST_CASE("derive_seed is SplitMix64 of the seed and the purpose", "[sdk]") {
  CHECK(anvil::derive_seed(0, 0) == 0xE220A8397B1DCDAFull);
  CHECK(anvil::derive_seed(7, 0) == 7191089600892374487ull);
  CHECK(anvil::derive_seed(7, 1) == 309689372594955804ull);
  CHECK(anvil::derive_seed(7, 2) == 16616101746815609346ull);
  CHECK(anvil::derive_seed(UINT64_MAX, 5) == 15212506146343009075ull);
}
