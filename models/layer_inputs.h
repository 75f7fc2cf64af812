// What every token mixer of one forward call may read, beside its input x: the tokens' positions and
// documents, the media the cross-modal layers attend to, and what is derived from them once per call and
// shared by all the layers that need it (RoPE's cos/sin, attention masks). A mixer asks for what it uses;
// nothing is built for a mixer that does not ask (a recurrent mixer reads segments, not masks).
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include <torch/torch.h>

#include "models/positional.h"  // defines: Rope, MakeRope, CausalMask, BlockCausalMask

namespace zen {

struct MediaContext;  // models/cross_attention.h

class LayerInputs {
 public:
  // hidden: (B, T, C) or, under sequence parallelism, (B, T/tp, C): the stage's input (its dtype and device
  // are RoPE's and the masks').
  // positions: (B, T) int64. segments: (B, T) int64 document index of each token over packed rows, or
  // undefined (one document per row). cached: positions [0, cached) precede these in a generation's
  // cache (Qwen3Impl::forward_cached); the T tokens are then positions [cached, cached + T).
  LayerInputs(const torch::Tensor& hidden, torch::Tensor positions, torch::Tensor segments = {},
              int64_t cached = 0, const MediaContext* media = nullptr);

  const torch::Tensor& positions() const { return positions_; }  // (B, T)
  const torch::Tensor& segments() const { return segments_; }    // (B, T) or undefined
  int64_t cached() const { return cached_; }
  int64_t length() const { return positions_.size(1); }         // T
  const MediaContext* media() const { return media_; }           // null: no cross-modal context

  // RoPE of the positions for `head_dim` and `theta`, built on first use and shared by later layers.
  const Rope& rope(int64_t head_dim, double theta);
  // Attention's mask of the T queries against the cached + T keys, built on first use and shared:
  // window = 0: causal, block-causal within each document when segments are given; window > 0: also
  // only the last `window` positions (HF Qwen3's sliding window). Undefined = plain causal (SDPA's fast
  // path), returned when no mask is needed: no segments and nothing cached or a single query.
  // Inside a ContextParallelScope the T queries are this rank's chunks of the row and the keys the whole
  // row, gathered (parallel/context_parallel.h): (T, C·T) or (B, 1, T, C·T).
  // Returns (T, cached + T) or (B, 1, T, T) bool, true = attend.
  const torch::Tensor& AttentionMask(int64_t window);

 private:
  torch::Tensor positions_, segments_;
  int64_t cached_;
  const MediaContext* media_;
  torch::ScalarType dtype_;
  torch::Device device_;
  std::map<std::pair<int64_t, double>, Rope> ropes_;
  std::map<int64_t, torch::Tensor> masks_;  // by window
};

}  // namespace zen
