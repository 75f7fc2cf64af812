// Autograd-aware collectives at the tensor-parallel boundaries (Megatron-Core's mappings.py):
//   copy-to:     forward identity,             backward all-reduce
//   reduce-from: forward all-reduce (sum),     backward identity
//   gather-from: forward all-gather last dim,  backward take this rank's slice
//   scatter-to:  forward take this rank's slice of the last dim, backward all-gather
// and along the sequence (Megatron's sequence parallelism; the sequence is dim -2 of (..., T, C), so
// (B, T, C) splits T and a flattened (N, C) splits its tokens):
//   gather-from-sequence:          forward all-gather,      backward reduce-scatter (or keep this rank's
//                                  slice when every rank's output gradient is already whole)
//   reduce-scatter-to-sequence:    forward reduce-scatter,  backward all-gather
//   scatter-to-sequence:           forward keep my slice,   backward all-gather
// and the two boundaries of a tensor-parallel region, which pick by TpGroup::sequence_parallel:
//   EnterTensorParallelRegion: copy-to, or gather-from-sequence
//   LeaveTensorParallelRegion: reduce-from, or reduce-scatter-to-sequence
// With a group of size 1 each is the identity, so the layers built on them are plain layers.
#pragma once

#include <torch/torch.h>

#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

torch::Tensor CopyToTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);
torch::Tensor ReduceFromTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);
torch::Tensor GatherFromTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);
torch::Tensor ScatterToTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);

// x: (..., T/tp, C) -> (..., T, C). grad_is_partial: the output's gradient differs per rank (it feeds a
// split weight) and is summed by the backward's reduce-scatter; false: it is whole on every rank.
torch::Tensor GatherFromSequenceParallelRegion(const torch::Tensor& x, const TpGroup& tp, bool grad_is_partial = true);
// x: (..., T, C) partial sums -> (..., T/tp, C) this rank's slice of their sum.
torch::Tensor ReduceScatterToSequenceParallelRegion(const torch::Tensor& x, const TpGroup& tp);
// x: (..., T, C) whole on every rank -> (..., T/tp, C) this rank's slice.
torch::Tensor ScatterToSequenceParallelRegion(const torch::Tensor& x, const TpGroup& tp);

// Where a tensor-parallel region starts: the input every rank needs whole (copy-to, or under sequence
// parallelism the all-gather of the sequence shards).
torch::Tensor EnterTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);
// Where it ends: the sum of each rank's partial output (reduce-from, or under sequence parallelism the
// reduce-scatter that leaves each rank its slice of the sequence).
torch::Tensor LeaveTensorParallelRegion(const torch::Tensor& partial, const TpGroup& tp);

}  // namespace zen
