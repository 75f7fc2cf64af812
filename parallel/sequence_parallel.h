// Megatron's sequence parallelism (parallel.sequence, Korthikanti et al. 2022): outside the tensor-parallel
// regions, the activations of a (B, T, C) micro-batch are split along T over the tp group, so every rank
// keeps (B, T/tp, C) of the residual stream, the norms' inputs and the pipeline's messages. The layers
// (parallel/layers.h) gather the sequence where a region starts and reduce-scatter where it ends; attention
// runs on the gathered whole sequence, so positions and masks stay global. What the model itself needs:
// the length of its own shard, and the gradients of the whole parameters that now see only part of it.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

// T positions of a sequence -> the positions a rank holds outside the tensor-parallel regions
// (T / tp under sequence parallelism, else T).
int64_t LocalSequenceLength(int64_t t, const TpGroup& tp);

// Under sequence parallelism every whole, non-expert parameter of `model` (the input, post-attention and
// final norms, the MoE router, a row-parallel bias) and those registered later (a LoRA factor on the router)
// sees one shard of the sequence, so its gradient is partial over tp (ParamInfo::grad_partial_over.tp) and
// AllReducePartialGradients sums it. Nothing without sequence parallelism.
void MarkSequenceParallelGradients(torch::nn::Module& model, const TpGroup& tp);

}  // namespace zen
