// Mixed precision: under bf16, matmuls and attention run in bfloat16 through torch's autocast while
// parameters, gradients and optimizer state stay fp32 (the master weights). With train.param_dtype=bf16
// the parameters themselves are bf16 (fp32 masters in AdamW) and the forward always runs under autocast,
// so an fp32-stored norm gain and bf16 weights meet in bf16 matmuls (docs/memory.md).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include "core/recipe.h"  // defines: TrainSpec

namespace zen {

// Whether the forward runs under bf16 autocast: train.dtype=bf16, or bf16 parameter storage (which implies it).
inline bool ComputesInBf16(const TrainSpec& t) { return t.dtype == "bf16" || t.param_dtype == "bf16"; }

// The hidden states one pipeline stage sends the next: the residual stream's dtype, which is the embedding's
// (bf16 under bf16 storage; fp32 otherwise, autocast included), so a stage computes as one process would.
inline torch::TensorOptions ActivationOptions(const TrainSpec& t, torch::Device device) {
  return torch::TensorOptions().device(device).dtype(t.param_dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32);
}

class AutocastScope {
 public:
  AutocastScope(bool bf16, torch::Device device) : enabled_(bf16), type_(device.type()) {
    if (!enabled_) return;
    previous_ = at::autocast::is_autocast_enabled(type_);
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
  }
  ~AutocastScope() {
    if (!enabled_) return;
    at::autocast::set_autocast_enabled(type_, previous_);
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
  c10::DeviceType type_;
};

}  // namespace zen
