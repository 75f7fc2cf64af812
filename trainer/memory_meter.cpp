#include "trainer/memory_meter.h"

#include <algorithm>
#include <atomic>

#include <c10/core/CPUAllocator.h>
#include <c10/cuda/CUDACachingAllocator.h>

namespace zen {
namespace {

std::atomic<int64_t> cpu_current{0};
std::atomic<int64_t> cpu_peak{0};

void RaisePeak(int64_t now) {
  int64_t peak = cpu_peak.load(std::memory_order_relaxed);
  while (now > peak && !cpu_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

// Owns the base allocator's DataPtr; freeing it gives the bytes back to the count.
struct Counted {
  c10::DataPtr base;
  int64_t bytes;
};

void FreeCounted(void* context) {
  auto* counted = static_cast<Counted*>(context);
  cpu_current.fetch_sub(counted->bytes, std::memory_order_relaxed);
  delete counted;
}

class CountingCpuAllocator final : public c10::Allocator {
 public:
  explicit CountingCpuAllocator(c10::Allocator* base) : base_(base) {}

  c10::DataPtr allocate(size_t n) override {
    c10::DataPtr base = base_->allocate(n);
    void* data = base.get();
    const c10::Device device = base.device();
    RaisePeak(cpu_current.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed) + static_cast<int64_t>(n));
    return {data, new Counted{std::move(base), static_cast<int64_t>(n)}, &FreeCounted, device};
  }

  void copy_data(void* dest, const void* src, std::size_t count) const override {
    base_->copy_data(dest, src, count);
  }

 private:
  c10::Allocator* base_;
};

int64_t CudaStat(const torch::Device& device, bool peak) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  const auto& bytes = stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)];
  return peak ? bytes.peak : bytes.current;
}

}  // namespace

void MemoryMeter::Install() {
  static CountingCpuAllocator* counting = [] {
    auto* allocator = new CountingCpuAllocator(c10::GetDefaultCPUAllocator());  // lives as long as the process
    c10::SetCPUAllocator(allocator, /*priority=*/1);
    return allocator;
  }();
  (void)counting;
}

void MemoryMeter::ResetPeak(const torch::Device& device) {
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
    return;
  }
  cpu_peak.store(cpu_current.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

int64_t MemoryMeter::Peak(const torch::Device& device) {
  return device.is_cuda() ? CudaStat(device, true) : cpu_peak.load(std::memory_order_relaxed);
}

int64_t MemoryMeter::Current(const torch::Device& device) {
  return device.is_cuda() ? CudaStat(device, false) : cpu_current.load(std::memory_order_relaxed);
}

}  // namespace zen
