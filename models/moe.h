// The mixture-of-experts block that replaces the dense MLP on MoE layers (Hugging Face Qwen3-MoE's
// Qwen3MoeSparseMoeBlock, plus an optional shared expert):
//   router  logits = x Wr^T (E), probs = softmax(logits / temperature) in fp32, top-k, the k weights
//           renormalised to sum to 1;
//   experts SwiGLU of width expert_ffn; y = sum_k w_k expert_k(x) (+ shared_expert(x) for every token).
// Parameter names are the Hub checkpoints': mlp.gate.weight (router), mlp.experts.{e}.{gate,up,down}_proj
// .weight (global expert index e), mlp.shared_expert.{gate,up,down}_proj.weight.
//
// Tokens are sorted by expert once, each expert runs on its contiguous rows (Megatron-Core's permute +
// SequentialMLP) and the weighted results are scattered back; under expert parallelism the sorted rows
// travel to the expert's rank and back (parallel/expert_dispatch.h). Experts are not split by tensor
// parallelism: each tp rank routes its own share of the tokens (parallel/expert_tokens.h: its sequence
// shard under sequence parallelism, else a slice of the replicated tokens, gathered back after), so the
// expert group may span tp ranks and no expert runs twice on a token; the shared expert is split.
//
// Auxiliary losses, one term per MoE layer and micro-batch, over the tokens the router saw:
//   load balancing (Switch/GShard, as Megatron-Core): aux = coef * E * sum_e f_e * P_e, f_e = token
//     choices routed to e / (N * k), P_e = mean over the N tokens of probs[:, e]; exactly coef when
//     balanced;
//   z-loss (ST-MoE): z_coef * mean_n logsumexp(logits_n)^2.
// They are not added to the returned activations: their gradient is attached to them (Megatron-Core's
// MoEAuxLossAutoScaler), scaled by MoeStats::aux_scale, so any pipeline stage can hold MoE layers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "core/recipe.h"             // defines: ModelSpec, MoeSpec
#include "models/qwen3_blocks.h"     // defines: Qwen3Mlp
#include "parallel/expert_dispatch.h"  // defines: EpGroup
#include "parallel/layers.h"         // defines: ColumnParallelLinear
#include "parallel/model_groups.h"   // defines: ModelGroups
#include "parallel/tp_group.h"       // defines: TpGroup

namespace zen {

// What the MoE layers of one model saw since the last Reset (a training step), and how their auxiliary
// losses enter the objective.
struct MoeStats {
  double aux_scale = 1.0;      // gradient weight of each layer's aux term (1 / micro-batches per global batch)
  torch::Tensor aux_sum;       // 0-d fp64: sum of aux (+ z) terms over layers and micro-batches
  torch::Tensor expert_counts;  // (E) int64: token choices routed to each expert, summed over layers
  torch::Tensor dropped;       // 0-d int64: token choices dropped by the capacity limit
  void Reset(int64_t experts);
};

// Routing of N tokens: the router's scores, the chosen experts and their weights.
struct Routing {
  torch::Tensor logits;   // (N, E) fp32, before the temperature
  torch::Tensor probs;    // (N, E) fp32
  torch::Tensor weights;  // (N, k) fp32, renormalised top-k probabilities
  torch::Tensor experts;  // (N, k) int64
};

// The load-balancing term for one layer: coef * E * sum_e f_e P_e, differentiable through P_e.
torch::Tensor LoadBalancingLoss(const torch::Tensor& probs, const torch::Tensor& experts, int64_t num_experts,
                                double coef);
// One share's part of it when a layer's `tokens` tokens are routed in shares (one per tp rank):
// probs (n, E) of this share, counts (E) the choices per expert over all shares. f_e = counts_e / (tokens k)
// and this share's coef * E * sum_e f_e * sum_n probs[n, e] / tokens; the shares' parts add up to the term.
torch::Tensor LoadBalancingLoss(const torch::Tensor& probs, const torch::Tensor& counts, double tokens,
                                int64_t top_k, double coef);

class MoeBlockImpl : public torch::nn::Module {
 public:
  // Holds the experts [ep.rank * E / ep.size, (ep.rank + 1) * E / ep.size) of ep = groups.ep; the shared
  // expert is split over groups.tp.
  MoeBlockImpl(const ModelSpec& spec, const MoeSpec& moe, const ModelGroups& groups, std::shared_ptr<MoeStats> stats);
  MoeBlockImpl(const ModelSpec& spec, const MoeSpec& moe, const TpGroup& tp, const EpGroup& ep,
               std::shared_ptr<MoeStats> stats)
      : MoeBlockImpl(spec, moe, ModelGroups{tp, CpGroup{}, ep}, std::move(stats)) {}
  // x: (B, T, C) -> (B, T, C).
  torch::Tensor forward(const torch::Tensor& x);

  Routing Route(const torch::Tensor& x);  // x: (N, C)

  ColumnParallelLinear gate{nullptr};  // the router, (E, C), whole on every rank (TpGroup::Replicated)
  std::vector<Qwen3Mlp> experts;       // this rank's experts
  Qwen3Mlp shared_expert{nullptr};     // null without model.shared_ffn

 private:
  // rows: (R, C) sorted by global expert, rows_per_expert (E) -> (R, C) expert outputs in the same order.
  torch::Tensor RunExperts(const torch::Tensor& rows, const std::vector<int64_t>& rows_per_expert);
  // Keeps at most `capacity` choices per expert (earliest tokens first); returns the kept mask (N * k).
  torch::Tensor CapacityMask(const torch::Tensor& flat_experts, int64_t tokens);

  int64_t num_experts_, top_k_, first_expert_;
  double temperature_;
  MoeSpec moe_;
  EpGroup ep_;
  TpGroup tp_;  // its ranks route distinct shares of the tokens
  std::shared_ptr<MoeStats> stats_;

  // The aux term of this share (its part of the layer's), and the routing counted into stats_ over every
  // share: flat_experts (n * k) of the share, dropped its choices over capacity.
  torch::Tensor AuxLossAndStats(const Routing& routing, const torch::Tensor& dropped);
};
TORCH_MODULE(MoeBlock);

}  // namespace zen
