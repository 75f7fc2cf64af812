// Measured tensor memory of this process, for metrics.jsonl's peak_memory_bytes: on CUDA the caching
// allocator's own statistics; on CPU a counting wrapper installed in front of torch's CPU allocator
// (torch keeps no CPU statistics), so every CPU tensor allocated after Install() is counted.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace zen {

class MemoryMeter {
 public:
  // Installs the CPU counter (idempotent; once per process, before the model is built).
  static void Install();
  // Starts a new peak window at the current usage.
  static void ResetPeak(const torch::Device& device);
  // The most bytes of tensors alive at once on `device` since the last ResetPeak.
  static int64_t Peak(const torch::Device& device);
  // Bytes of tensors alive on `device` now.
  static int64_t Current(const torch::Device& device);
};

}  // namespace zen
