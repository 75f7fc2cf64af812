// What attention derives from token positions: RoPE's rotations (as HF's rotate-half) and the causal,
// sliding-window and block-causal masks. Built once per forward call by LayerInputs and shared by layers.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace zen {

// cos and sin of every position's rotation angles, shaped to broadcast over heads.
struct Rope {
  torch::Tensor cos, sin;  // (B, 1, T, head_dim)
};

// positions: (B, T) int64. Angles pos / theta^(2i / head_dim) in fp32, as HF; cast to `dtype`.
Rope MakeRope(const torch::Tensor& positions, int64_t head_dim, double theta, torch::ScalarType dtype);

// x: (B, H, T, head_dim) rotated by rotate-half RoPE.
torch::Tensor ApplyRope(const torch::Tensor& x, const Rope& rope);

// Causal mask of `queries` queries against `keys` keys, the queries being the last positions (as when
// new tokens attend to a KV cache): query i, at position keys - queries + i, sees key j when j <= its
// position and, with window > 0, position - window < j (HF Qwen3's sliding window).
// Returns (queries, keys) bool, true = attend.
torch::Tensor CausalMask(int64_t queries, int64_t keys, int64_t window, const torch::Device& device);

// Sliding-window causal mask as HF Qwen3 builds it: query i sees key j when i - window < j <= i.
// Returns (T, T) bool, true = attend.
torch::Tensor SlidingWindowMask(int64_t seq_len, int64_t window, const torch::Device& device);

// Block-causal mask of packed rows: query i sees key j when j <= i and both lie in the same document.
// segments: (B, T) int64 -> (B, 1, T, T) bool, true = attend (broadcasts over heads).
torch::Tensor BlockCausalMask(const torch::Tensor& segments);

}  // namespace zen
