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

// Each block carries its size in a header in front of the data, so the DataPtr stays "simple" (data ==
// context, one raw deleter), as torch's raw_allocate users (oneDNN scratch buffers under bf16) require.
constexpr size_t kHeader = 64;  // keeps the base allocator's 64-byte alignment
c10::DeleterFnPtr base_free = nullptr;

void FreeCounted(void* data) {
  char* block = static_cast<char*>(data) - kHeader;
  cpu_current.fetch_sub(static_cast<int64_t>(*reinterpret_cast<size_t*>(block)), std::memory_order_relaxed);
  base_free(block);
}

class CountingCpuAllocator final : public c10::Allocator {
 public:
  explicit CountingCpuAllocator(c10::Allocator* base) : base_(base) {
    base_free = base->raw_deleter();
    TORCH_CHECK(base_free != nullptr, "torch's CPU allocator has no raw deleter to wrap");
  }

  c10::DataPtr allocate(size_t n) override {
    c10::DataPtr block = base_->allocate(n + kHeader);
    const c10::Device device = block.device();
    char* raw = static_cast<char*>(block.release_context());
    *reinterpret_cast<size_t*>(raw) = n;
    const auto bytes = static_cast<int64_t>(n);
    RaisePeak(cpu_current.fetch_add(bytes, std::memory_order_relaxed) + bytes);
    return {raw + kHeader, raw + kHeader, &FreeCounted, device};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &FreeCounted; }

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
