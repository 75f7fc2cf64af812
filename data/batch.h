// A micro-batch as the trainer consumes it: next-token labels are already aligned with the tokens.
#pragma once

#include <torch/torch.h>

namespace zen {

inline constexpr int64_t kIgnoreLabel = -100;  // a position that contributes no loss (masked or padding)

struct Batch {
  torch::Tensor tokens;     // (B, T) int64
  torch::Tensor labels;     // (B, T) int64: the token to predict at each position, or kIgnoreLabel
  torch::Tensor positions;  // (B, T) int64: RoPE positions (restart at each packed document)

  int64_t LossTokens() const { return labels.ne(kIgnoreLabel).sum().item<int64_t>(); }
};

}  // namespace zen
