// Mixed precision: under bf16, matmuls and attention run in bfloat16 through torch's autocast while
// parameters, gradients and optimizer state stay fp32 (the master weights).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

namespace zen {

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
