// The counting allocator behind the footprint tests and bench/memory: it must count exactly and
// serve every way LibTorch allocates, raw_allocate() included (oneDNN's bf16 matmuls use it on
// AVX512-BF16/AMX CPUs, where a DataPtr whose context is not its data pointer aborts).
#include "support/allocation_meter.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

using anvil::test::AllocationMeter;
using anvil::test::CountingCPUAllocator;

TEST_CASE("the counting allocator serves raw_allocate and counts it", "[plan][meter]") {
  AllocationMeter meter;
  c10::Allocator* allocator = c10::GetCPUAllocator();
  REQUIRE(allocator == &CountingCPUAllocator::instance());
  void* raw = allocator->raw_allocate(4096);
  REQUIRE(raw != nullptr);
  CHECK(meter.live() == 4096);
  static_cast<char*>(raw)[4095] = 1;  // writable to its end
  allocator->raw_deallocate(raw);
  CHECK(meter.live() == 0);
  CHECK(meter.peak() == 4096);
}

TEST_CASE("the counting allocator counts tensors while they live", "[plan][meter]") {
  AllocationMeter meter;
  {
    const at::Tensor a = at::zeros({1000}, at::kFloat);
    const at::Tensor b = at::empty({0}, at::kFloat);  // nothing to allocate
    CHECK(meter.live() == 4000);
  }
  CHECK(meter.live() == 0);
  CHECK(meter.peak() == 4000);
}
