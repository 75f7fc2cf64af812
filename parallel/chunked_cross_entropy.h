// The vocab-parallel cross entropy over chunks of tokens, so that no rank holds the logits of a whole
// micro-batch (Liger's and Apple's cut cross entropy are the anchors; docs/memory.md). Each chunk's head and
// loss run under Checkpoint: the forward keeps only the chunk's hidden states, the backward recomputes one
// chunk's logits at a time. The same loss and gradients as the unchunked sum, to float rounding.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

// The output head: hidden (N, C) -> logits (N, V/tp) over this rank's vocab slice. Kept until the
// backward: capture by value.
using HeadFn = std::function<torch::Tensor(const torch::Tensor&)>;

// VocabParallelCrossEntropySum(head(hidden), labels, tp) computed `chunk_tokens` rows at a time.
// hidden: (N, C); labels: (N) int64 (kIgnoreLabel = no loss); head_params: the head's parameters (the
// tied embedding, lm_head and its LoRA factors), whose gradients the chunks' backward reaches.
// N <= chunk_tokens takes the plain path (one chunk saves nothing). Returns an fp32 scalar.
torch::Tensor ChunkedCrossEntropySum(const torch::Tensor& hidden, const torch::Tensor& labels, int64_t chunk_tokens,
                                     const HeadFn& head, const std::vector<torch::Tensor>& head_params,
                                     const TpGroup& tp);

}  // namespace zen
