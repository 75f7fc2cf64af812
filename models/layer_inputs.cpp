#include "models/layer_inputs.h"

#include "parallel/context_parallel.h"  // defines: ActiveContextGroup, ContextAttentionMask

namespace zen {

LayerInputs::LayerInputs(const torch::Tensor& hidden, torch::Tensor positions, torch::Tensor segments,
                         int64_t cached, const MediaContext* media)
    : positions_(std::move(positions)),
      segments_(std::move(segments)),
      cached_(cached),
      media_(media),
      dtype_(hidden.scalar_type()),
      device_(hidden.device()) {
  // T comes from positions: under sequence parallelism hidden holds only this rank's shard of the sequence
  // (Qwen3Impl::forward_hidden checks the shard's length), while positions and masks stay whole.
  TORCH_CHECK(hidden.dim() == 3 && positions_.dim() == 2 && positions_.size(0) == hidden.size(0),
              "want hidden (B, T, C) and positions (B, T), got ", hidden.sizes(), " and ", positions_.sizes());
  TORCH_CHECK(!segments_.defined() || cached_ == 0, "packed documents (segments) over a generation's cache");
}

const Rope& LayerInputs::rope(int64_t head_dim, double theta) {
  auto key = std::make_pair(head_dim, theta);
  auto it = ropes_.find(key);
  if (it == ropes_.end()) it = ropes_.emplace(key, MakeRope(positions_, head_dim, theta, dtype_)).first;
  return it->second;
}

const torch::Tensor& LayerInputs::AttentionMask(int64_t window) {
  auto it = masks_.find(window);
  if (it != masks_.end()) return it->second;
  const int64_t t = length(), keys = cached_ + t;
  torch::Tensor mask;
  if (const CpGroup* cp = ActiveContextGroup()) {
    mask = ContextAttentionMask(t, segments_, window, *cp, device_);  // this rank's chunks against the row
  } else if (window > 0) {
    mask = CausalMask(t, keys, window, device_);  // (T, keys)
    if (segments_.defined()) mask = mask.logical_and(AttentionMask(0));  // (B, 1, T, T)
  } else if (segments_.defined()) {
    mask = BlockCausalMask(segments_);  // (B, 1, T, T)
  } else if (cached_ > 0 && t > 1) {
    mask = CausalMask(t, keys, 0, device_);
  }
  return masks_.emplace(window, mask).first->second;
}

}  // namespace zen
