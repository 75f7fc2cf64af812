// The mixture-of-experts block that replaces the dense MLP on MoE layers (Hugging Face Qwen3-MoE's
// Qwen3MoeSparseMoeBlock, plus an optional shared expert):
//   router  logits = x Wr^T (E), probs = softmax(logits / temperature) in fp32, top-k, the k weights
//           renormalised to sum to 1;
//   experts SwiGLU of width expert_ffn; y = sum_k w_k expert_k(x) (+ shared_expert(x) for every token,
//           times sigmoid(shared_expert_gate(x)) where gated, as Qwen3-Next's Qwen3NextSparseMoeBlock).
// Parameter names are the Hub checkpoints': mlp.gate.weight (router), mlp.experts.{e}.{gate,up,down}_proj
// .weight (global expert index e), mlp.shared_expert.{gate,up,down}_proj.weight, mlp.shared_expert_gate.weight.
//
// With moe.router_bias_update_rate > 0 the top-k choice is made on probs + router_bias (DeepSeek-V3), the
// weights still being the chosen experts' probabilities, renormalised.
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
//     balanced; with moe.balance = global_batch f_e counts the step's tokens so far over the data-parallel
//     group (models/moe_balance.h) and P_e is this rank's part of the micro-step's mean over that group;
//   z-loss (ST-MoE): z_coef * mean_n logsumexp(logits_n)^2.
// They are not added to the returned activations: their gradient is attached to them (Megatron-Core's
// MoEAuxLossAutoScaler), scaled by MoeStats::aux_scale, so any pipeline stage can hold MoE layers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "core/recipe.h"             // defines: ModelSpec, MoeSpec
#include "models/moe_balance.h"     // defines: BalanceWindow
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
  // moe.balance = global_batch, set by the trainer for the forwards of a training step only (evaluation
  // balances per micro-batch and runs no collective): the counts of the balancing loss are summed over
  // balance_group (the ranks holding other tokens of the step; null = this process alone) and the step's
  // micro-batches so far. aux_scale is then 1 / micro-batches per rank.
  bool global_batch = false;
  Communicator* balance_group = nullptr;
  int64_t step = 0;            // incremented by Reset: the layers restart their running counts
  // Diagnostics per MoE layer of this model (row: the block's index in construction order, i.e. layer
  // order), summed over the step: choices per expert (E), dropped choices, the router's entropy summed
  // over tokens, tokens. (layers, E + 3) fp64 on the CPU.
  int64_t layers = 0;          // MoE blocks that report here
  torch::Tensor layer_tally;
  void Reset(int64_t experts);
  void RecordLayer(int64_t layer, const torch::Tensor& row);  // row: (E + 3) fp64 CPU
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
// The general form: f_e = counts_e / (count_tokens k), this share's P_e part = sum_n probs[n, e] / mean_tokens
// (global-batch balancing counts f over more tokens than P averages over).
torch::Tensor LoadBalancingLoss(const torch::Tensor& probs, const torch::Tensor& counts, double count_tokens,
                                double mean_tokens, int64_t top_k, double coef);

class MoeBlockImpl : public torch::nn::Module {
 public:
  // Holds the experts [ep.rank * E / ep.size, (ep.rank + 1) * E / ep.size) of ep = groups.ep; the shared
  // expert is split over groups.tp. gated_shared_expert (Qwen3-Next): the shared expert's output is scaled
  // per token by sigmoid(shared_expert_gate(x)), a (1, C) linear whole on every rank.
  MoeBlockImpl(const ModelSpec& spec, const MoeSpec& moe, const ModelGroups& groups, std::shared_ptr<MoeStats> stats,
               bool gated_shared_expert = false);
  MoeBlockImpl(const ModelSpec& spec, const MoeSpec& moe, const TpGroup& tp, const EpGroup& ep,
               std::shared_ptr<MoeStats> stats)
      : MoeBlockImpl(spec, moe, ModelGroups{tp, CpGroup{}, ep}, std::move(stats)) {}
  // x: (B, T, C) -> (B, T, C).
  torch::Tensor forward(const torch::Tensor& x);

  Routing Route(const torch::Tensor& x);  // x: (N, C)

  // The routed experts run as grouped GEMMs over the sorted rows (models/grouped_experts.h); `on` runs
  // them one by one instead, as before: for the benchmark and the tests that compare the two.
  void UsePerExpertLoop(bool on) { per_expert_loop_ = on; }

  ColumnParallelLinear gate{nullptr};  // the router, (E, C), whole on every rank (TpGroup::Replicated)
  std::vector<Qwen3Mlp> experts;       // this rank's experts
  Qwen3Mlp shared_expert{nullptr};     // null without model.shared_ffn
  ColumnParallelLinear shared_expert_gate{nullptr};  // (1, C); null unless gated_shared_expert
  // DeepSeek-V3's auxiliary-loss-free balancing (moe.router_bias_update_rate > 0): a per-expert bias added
  // to the routing probabilities for the top-k choice only (the weights stay the probabilities), the buffer
  // "router_bias" (E) fp32, the same on every rank; undefined when the rate is 0.
  torch::Tensor router_bias;
  // After a step: bias_e += rate * sign(mean_e' counts - counts_e), counts (E) the layer's choices per
  // expert over the step's global batch, so an overloaded expert is chosen less.
  void UpdateRouterBias(const torch::Tensor& counts);

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
  BalanceWindow window_;  // moe.balance = global_batch: this layer's counts over the step
  int64_t slot_;          // this block's row of MoeStats::layer_tally
  bool per_expert_loop_ = false;

  // The aux term of this share (its part of the layer's), and the routing counted into stats_ over every
  // share: flat_experts (n * k) of the share, dropped its choices over capacity.
  torch::Tensor AuxLossAndStats(const Routing& routing, const torch::Tensor& dropped);
};
TORCH_MODULE(MoeBlock);

}  // namespace zen
