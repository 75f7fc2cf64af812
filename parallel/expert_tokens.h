// Which tokens a tensor-parallel rank routes to the experts (Megatron-Core's "MoE parallel folding"): the
// tp ranks of a layer hold the same tokens without sequence parallelism, and routing them all on every
// rank would run each expert tp times on each token. So each tp rank routes a distinct share: its own
// sequence shard under sequence parallelism (nothing to do), otherwise the share [r N / tp, (r+1) N / tp)
// of the N replicated tokens, and the routed outputs are all-gathered back. The expert group may then
// span tp ranks (parallel/grid.h), and no routed expert is held twice within a tp group unless
// parallel.expert < tensor.
//
// Routing statistics are per share; the load-balancing loss needs the counts over every share
// (SumOverTokenShares), and each share's term then adds up to the layer's over tp.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

// tokens: (N, C), the layer's tokens on this rank -> (n, C), those this rank routes. Backward gathers the
// shares' gradients, so the replicated input gets its whole gradient on every rank.
torch::Tensor TakeExpertTokenShare(const torch::Tensor& tokens, const TpGroup& tp);

// share: (n, C) this rank's routed outputs -> (N, C) every share's, in token order (the inverse of
// TakeExpertTokenShare; backward keeps this rank's rows of the whole gradient every rank holds).
torch::Tensor GatherExpertTokenShares(const torch::Tensor& share, const TpGroup& tp, int64_t tokens);

// The sum of `x` over the ranks whose shares make up the layer's tokens (the tp group when tp > 1, and
// inside a ContextParallelScope the cp group, which holds the rest of each row: parallel/context_parallel.h).
// Not differentiable: for counts and reported values.
torch::Tensor SumOverTokenShares(const torch::Tensor& x, const TpGroup& tp);

// ParamModule::MarkTokenShared on `module` when tp > 1: it runs on this rank's share of the tokens (the
// router), so its whole parameters' gradients are partial over tp.
void MarkRunsOnTokenShare(torch::nn::Module& module, const TpGroup& tp);

}  // namespace zen
