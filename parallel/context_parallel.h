// Context parallelism (parallel.context = C; Megatron-Core's CP, torchtitan's context_parallel): every
// sequence of a micro-batch is split over the C ranks of the cp group, so each rank keeps the activations
// of T/C positions. The load-balanced causal split cuts the row into 2C chunks of T/(2C) and gives cp rank
// i chunks i and 2C-1-i, so every rank does the same share of causal attention's triangle:
//
//   T = 16, C = 2:   chunk  0    1    2    3          rank 0: chunks 0 and 3 (positions 0-3, 12-15)
//                    rank   0    1    1    0          rank 1: chunks 1 and 2 (positions 4-11)
//
// The trainer splits each micro-batch where it fetches it (tokens, labels, RoPE positions and document
// segments are all cut the same way, so positions stay global). Everything but attention is per token.
// Attention enters through the attention-core seam (parallel/recompute.h, AttentionCore): inside a
// ContextParallelScope the keys and values of the whole row are all-gathered over the cp group before the
// core runs, and LayerInputs builds the mask of this rank's queries against every rank's keys from their
// global indices and document segments (causal, sliding window and block-causal, exact across chunk
// boundaries). The all-gather, not a ring, is the simplest exact path on CPU/MPI (no online-softmax merge,
// and SDPA runs once): the gathered K/V of one layer cost 2 × B × KV/tp × T × head_dim elements per rank
// (the whole row's, not T/C); each rank puts its T/C share of K and V into the forward's all-gather and the
// whole row's K and V gradients into the backward's reduce-scatter (docs/parallel.md, docs/benchmarks.md
// count the bytes). Scores stay (T/C) × T per head.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "parallel/model_groups.h"  // defines: CpGroup

namespace zen {

// The row positions cp rank `rank` of `size` holds, in its local order (chunk rank, then chunk
// 2·size-1-rank): (T / size) int64. T must be divisible by 2·size (CheckLayout refuses other lengths).
torch::Tensor ContextChunkIndices(int64_t t, int64_t rank, int64_t size, const torch::Device& device);

// x: (B, T, ...) whole rows -> (B, T/C, ...) this rank's chunks along dim 1. Undefined stays undefined.
torch::Tensor TakeContextShard(const torch::Tensor& x, const CpGroup& cp);

// While alive on this thread, attention runs over the cp group: AttentionCore gathers keys and values and
// LayerInputs builds context masks. A group of one makes it a no-op. The trainer holds one around a
// step's forwards and backwards (a recomputed layer's re-run in the backward gathers again).
class ContextParallelScope {
 public:
  explicit ContextParallelScope(const CpGroup& cp);
  ~ContextParallelScope();
  ContextParallelScope(const ContextParallelScope&) = delete;
  ContextParallelScope& operator=(const ContextParallelScope&) = delete;

 private:
  const CpGroup* previous_;
  CpGroup cp_;
};

// The scope's group on this thread, or null outside one (or with a group of one).
const CpGroup* ActiveContextGroup();

// k or v: (B, KV, T/C, hd) this rank's chunks -> (B, KV, T, hd) every rank's, in rank order (rank 0's two
// chunks, then rank 1's, ...; the mask below orders nothing, it reads global indices). Backward:
// reduce-scatter, each rank keeping the summed gradient of its own keys and values.
torch::Tensor GatherContext(const torch::Tensor& x, const CpGroup& cp);

// Attention mask of this rank's T/C queries against the gathered T keys: key j is seen by query i when
// index(j) <= index(i), with window > 0 also index(i) - window < index(j), and with segments (this rank's
// (B, T/C) document ids, gathered here) both lie in the same document.
// Returns (T/C, T) bool, or (B, 1, T/C, T) with segments; true = attend.
torch::Tensor ContextAttentionMask(int64_t local_t, const torch::Tensor& segments, int64_t window,
                                   const CpGroup& cp, const torch::Device& device);

}  // namespace zen
