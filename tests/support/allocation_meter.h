#pragma once
// Measures the CPU tensor memory a piece of code holds: while an AllocationMeter lives, every
// CPU tensor allocation goes through a counting allocator that tracks the bytes alive and
// their peak. Used to check memory estimates (the model footprints behind `anvil check`'s
// memory plan) against what LibTorch actually allocates.

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace anvil::test {

class CountingCPUAllocator final : public c10::Allocator {
 public:
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(std::size_t n) override { return counted(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#else
  c10::DataPtr allocate(std::size_t n) const override { return counted(n); }
#endif

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  /// The one instance; it outlives every tensor it allocated.
  static CountingCPUAllocator& instance() {
    static CountingCPUAllocator* allocator = new CountingCPUAllocator();
    return *allocator;
  }
  std::int64_t live() const { return live_.load(); }
  std::int64_t peak() const { return peak_.load(); }
  void reset_peak() { peak_.store(live_.load()); }

 private:
  // The data pointer is also the DataPtr's context, and the byte count is kept by pointer:
  // LibTorch calls raw_allocate() on the CPU allocator in places (oneDNN's bf16 matmuls on
  // AVX512-BF16/AMX CPUs), and raw_allocate() requires context == data and a raw_deleter().
  c10::DataPtr counted(std::size_t n) const {
    void* data = c10::GetDefaultCPUAllocator()->raw_allocate(n);
    auto& self = const_cast<CountingCPUAllocator&>(*this);
    if (data) {
      const std::lock_guard<std::mutex> lock(self.mutex_);
      self.bytes_[data] = n;
    }
    const std::int64_t now = self.live_.fetch_add(static_cast<std::int64_t>(n)) + static_cast<std::int64_t>(n);
    std::int64_t seen = self.peak_.load();
    while (now > seen && !self.peak_.compare_exchange_weak(seen, now)) {
    }
    return {data, data, &release, c10::Device(c10::kCPU)};
  }
  static void release(void* data) {
    if (!data) return;
    CountingCPUAllocator& self = instance();
    std::size_t n = 0;
    {
      const std::lock_guard<std::mutex> lock(self.mutex_);
      const auto found = self.bytes_.find(data);
      if (found != self.bytes_.end()) {
        n = found->second;
        self.bytes_.erase(found);
      }
    }
    self.live_.fetch_sub(static_cast<std::int64_t>(n));
    c10::GetDefaultCPUAllocator()->raw_deallocate(data);
  }

  std::mutex mutex_;
  std::unordered_map<void*, std::size_t> bytes_;  // bytes of each live allocation
  std::atomic<std::int64_t> live_{0};
  std::atomic<std::int64_t> peak_{0};
};

/// Routes CPU allocations through CountingCPUAllocator for its lifetime.
class AllocationMeter {
 public:
  AllocationMeter() : previous_(c10::GetCPUAllocator()) {
    c10::SetCPUAllocator(&CountingCPUAllocator::instance(), kPriority);
    CountingCPUAllocator::instance().reset_peak();
    base_ = CountingCPUAllocator::instance().live();
  }
  ~AllocationMeter() { c10::SetCPUAllocator(previous_, kPriority); }
  AllocationMeter(const AllocationMeter&) = delete;
  AllocationMeter& operator=(const AllocationMeter&) = delete;

  /// Bytes allocated since construction (or the last reset) and still alive.
  std::int64_t live() const { return CountingCPUAllocator::instance().live() - base_; }
  /// The most bytes alive at once since construction or the last reset, above that point.
  std::int64_t peak() const { return CountingCPUAllocator::instance().peak() - base_; }
  /// Starts measuring from now: live() and peak() count from the memory alive at this point.
  void reset() {
    CountingCPUAllocator::instance().reset_peak();
    base_ = CountingCPUAllocator::instance().live();
  }

 private:
  static constexpr std::uint8_t kPriority = 200;
  c10::Allocator* previous_;
  std::int64_t base_ = 0;
};

}  // namespace anvil::test
