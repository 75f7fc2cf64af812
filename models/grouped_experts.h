// The routed experts of one MoE layer on one rank, run together over their rows grouped by expert
// (Megatron-Core's GroupedMLP) instead of one SwiGLU per expert: each projection is one grouped GEMM,
// gate and up fused, with the LoRA adapters of the experts batched the same way:
//   [gate | up] = x [Wg | Wu]_e^T (+ s dropout(x) Ag_e^T Bg_e^T, + the same for up)   per row of expert e
//   y = h Wd_e^T (+ s dropout(h) Ad_e^T Bd_e^T),  h = silu(gate) * up
// A grouped GEMM is libtorch's at::_grouped_mm where this build runs it for the device and dtype (probed
// once, widths aligned to 16 bytes), else one padded bmm (rows scattered into (E, max rows, in)).
// The weights are the experts' own parameters, stacked each forward (autograd carries their gradients
// back), so names, checkpoints and LoRA stay per expert. Equal to the per-expert loop up to rounding;
// LoRA dropout draws one mask per projection over all rows rather than one per expert.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "models/qwen3_blocks.h"  // defines: Qwen3Mlp

namespace zen {

// Whether the grouped path can run these experts: every expert unsplit (TpGroup::Replicated), without
// bias, and the same adapter (present or not, rank, scale, dropout) on the same projection of each.
bool CanGroupExperts(const std::vector<Qwen3Mlp>& experts);

// rows: (R, C) grouped by local expert, rows_per_expert (experts.size()) -> (R, C) the experts' outputs.
torch::Tensor RunGroupedExperts(const std::vector<Qwen3Mlp>& experts, const torch::Tensor& rows,
                                const std::vector<int64_t>& rows_per_expert, bool training);

// x: (R, in) grouped by expert, w: (E, out, in), rows_per_expert (E) -> (R, out): row block e times w[e]^T.
torch::Tensor GroupedLinear(const torch::Tensor& x, const torch::Tensor& w, const std::vector<int64_t>& rows_per_expert);

}  // namespace zen
