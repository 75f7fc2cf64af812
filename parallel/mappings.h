// Autograd-aware collectives at the tensor-parallel boundaries (Megatron-Core's mappings.py):
//   copy-to:     forward identity,             backward all-reduce
//   reduce-from: forward all-reduce (sum),     backward identity
//   gather-from: forward all-gather last dim,  backward take this rank's slice
//   scatter-to:  forward take this rank's slice of the last dim, backward all-gather
// With a group of size 1 each is the identity, so the layers built on them are plain layers.
#pragma once

#include <torch/torch.h>

#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

torch::Tensor CopyToTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);
torch::Tensor ReduceFromTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);
torch::Tensor GatherFromTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);
torch::Tensor ScatterToTensorParallelRegion(const torch::Tensor& x, const TpGroup& tp);

}  // namespace zen
