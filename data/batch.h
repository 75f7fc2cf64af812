// A micro-batch as the trainer consumes it: next-token labels are already aligned with the tokens.
#pragma once

#include <torch/torch.h>

namespace zen {

inline constexpr int64_t kIgnoreLabel = -100;  // a position that contributes no loss (masked or padding)

struct Batch {
  torch::Tensor tokens;     // (B, T) int64
  torch::Tensor labels;     // (B, T) int64: the token to predict at each position, or kIgnoreLabel
  torch::Tensor positions;  // (B, T) int64: RoPE positions (restart at each packed document)
  // (B, T) int64: which packed document of its row each token belongs to (0, 1, ...), so attention can
  // stay inside a document (block-causal). Undefined = plain causal over the whole row: a source leaves
  // it undefined when block-causal attention is off or no row of the batch holds a document boundary.
  torch::Tensor segments;

  Batch To(const torch::Device& device) const {
    return {tokens.to(device), labels.to(device), positions.to(device),
            segments.defined() ? segments.to(device) : torch::Tensor()};
  }

  int64_t LossTokens() const { return labels.ne(kIgnoreLabel).sum().item<int64_t>(); }
};

}  // namespace zen
