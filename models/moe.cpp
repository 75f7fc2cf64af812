#include "models/moe.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "models/grouped_experts.h"  // defines: CanGroupExperts, RunGroupedExperts
#include "parallel/expert_tokens.h"  // defines: TakeExpertTokenShare, GatherExpertTokenShares, SumOverTokenShares
#include "parallel/recompute.h"  // defines: IsRecomputing

namespace zen {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Forward: the activations unchanged. Backward: their gradient, and `scale` as the gradient of the
// auxiliary loss, so the loss trains the router without being added to the language-model loss.
struct AttachAuxLoss : torch::autograd::Function<AttachAuxLoss> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& y, const torch::Tensor& aux, double scale) {
    ctx->saved_data["scale"] = scale;
    ctx->save_for_backward({aux});
    return y.view_as(y);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const torch::Tensor aux = ctx->get_saved_variables()[0];
    return {grad[0], torch::full_like(aux, ctx->saved_data["scale"].toDouble()), torch::Tensor()};
  }
};

}  // namespace

void MoeStats::Reset(int64_t experts) {
  ++step;
  aux_sum = torch::Tensor();
  expert_counts = torch::zeros({experts}, torch::kLong);
  dropped = torch::zeros({}, torch::kLong);
  layer_tally = torch::zeros({layers, experts + 3}, torch::kDouble);
}

void MoeStats::RecordLayer(int64_t layer, const torch::Tensor& row) {
  if (!layer_tally.defined() || layer_tally.size(0) <= layer || layer_tally.size(1) != row.size(0)) {
    torch::Tensor grown = torch::zeros({std::max(layers, layer + 1), row.size(0)}, torch::kDouble);
    if (layer_tally.defined() && layer_tally.size(1) == row.size(0)) {
      grown.slice(0, 0, layer_tally.size(0)).copy_(layer_tally);
    }
    layer_tally = grown;
  }
  layer_tally[layer] += row;
}

torch::Tensor LoadBalancingLoss(const torch::Tensor& probs, const torch::Tensor& experts, int64_t num_experts,
                                double coef) {
  torch::Tensor counts = torch::bincount(experts.reshape(-1), {}, num_experts);  // (E)
  return LoadBalancingLoss(probs, counts, static_cast<double>(probs.size(0)), experts.size(-1), coef);
}

torch::Tensor LoadBalancingLoss(const torch::Tensor& probs, const torch::Tensor& counts, double tokens,
                                int64_t top_k, double coef) {
  return LoadBalancingLoss(probs, counts, tokens, tokens, top_k, coef);
}

torch::Tensor LoadBalancingLoss(const torch::Tensor& probs, const torch::Tensor& counts, double count_tokens,
                                double mean_tokens, int64_t top_k, double coef) {
  torch::Tensor f = counts.to(probs.options()) / (std::max(count_tokens, 1.0) * static_cast<double>(top_k));  // (E)
  torch::Tensor p = probs.sum(0) / std::max(mean_tokens, 1.0);  // (E), this share's part
  return coef * static_cast<double>(counts.size(0)) * (f * p).sum();
}

MoeBlockImpl::MoeBlockImpl(const ModelSpec& spec, const MoeSpec& moe, const ModelGroups& groups,
                           std::shared_ptr<MoeStats> stats, bool gated_shared_expert)
    : num_experts_(spec.experts),
      top_k_(spec.top_k),
      first_expert_(groups.ep.rank * (spec.experts / groups.ep.size)),
      temperature_(spec.router_temperature),
      moe_(moe),
      ep_(groups.ep),
      tp_(groups.tp),
      stats_(std::move(stats)),
      slot_(stats_ ? stats_->layers++ : 0) {
  const EpGroup& ep = groups.ep;
  const TpGroup& tp = groups.tp;
  // An invariant, not an input check: CheckLayout (parallel/grid.h) refuses such a layout before any model is built.
  TORCH_CHECK(spec.experts % ep.size == 0, "model.experts (", spec.experts, ") not divisible by the expert group ",
              ep.size);
  gate = register_module("gate", ColumnParallelLinear(spec.hidden, spec.experts, TpGroup::Replicated()));
  MarkRunsOnTokenShare(*gate, tp);  // each tp rank routes its own tokens: the router's gradient is partial
  auto holder = register_module("experts", torch::nn::ModuleDict());
  for (int64_t e = first_expert_; e < first_expert_ + spec.experts / ep.size; ++e) {
    experts.push_back(Qwen3Mlp(spec.hidden, spec.expert_ffn, TpGroup::Replicated()));
    MarkExperts(*experts.back());
    holder->update({{std::to_string(e), experts.back().ptr()}});
  }
  if (spec.shared_ffn > 0) shared_expert = register_module("shared_expert", Qwen3Mlp(spec.hidden, spec.shared_ffn, tp));
  TORCH_CHECK(!gated_shared_expert || shared_expert, "a gated shared expert needs model.shared_ffn > 0");
  if (moe.router_bias_update_rate > 0) {
    router_bias = register_buffer("router_bias", torch::zeros({spec.experts}, torch::kFloat32));
  }
  if (gated_shared_expert) {
    // Runs on the layer's tokens like the shared expert: the same on every tp rank (whole, not partial),
    // except under sequence parallelism, where the model marks every whole parameter partial over tp.
    shared_expert_gate = register_module("shared_expert_gate", ColumnParallelLinear(spec.hidden, 1, TpGroup::Replicated()));
  }
}

Routing MoeBlockImpl::Route(const torch::Tensor& x) {
  torch::Tensor logits = gate(x).to(torch::kFloat32);        // (N, E)
  torch::Tensor probs = torch::softmax(logits / temperature_, -1);
  if (router_bias.defined()) {  // the bias chooses, the probabilities weigh
    torch::Tensor top_experts = std::get<1>((probs.detach() + router_bias.to(probs.device())).topk(top_k_, -1));
    torch::Tensor top_probs = probs.gather(-1, top_experts);
    return {logits, probs, top_probs / top_probs.sum(-1, /*keepdim=*/true), top_experts};
  }
  auto [top_probs, top_experts] = probs.topk(top_k_, -1);     // (N, k)
  return {logits, probs, top_probs / top_probs.sum(-1, /*keepdim=*/true), top_experts};
}

void MoeBlockImpl::UpdateRouterBias(const torch::Tensor& counts) {
  if (!router_bias.defined()) return;
  torch::NoGradGuard no_grad;
  const torch::Tensor c = counts.to(torch::kDouble).cpu();
  const torch::Tensor step = torch::sign(c.mean() - c) * moe_.router_bias_update_rate;
  router_bias.add_(step.to(router_bias.options()));
}

torch::Tensor MoeBlockImpl::CapacityMask(const torch::Tensor& flat_experts, int64_t tokens) {
  const auto capacity = static_cast<int64_t>(
      std::ceil(moe_.capacity_factor * static_cast<double>(tokens * top_k_) / static_cast<double>(num_experts_)));
  // Position of each choice among its expert's choices, in token order.
  torch::Tensor one_hot = torch::one_hot(flat_experts, num_experts_);  // (N * k, E)
  torch::Tensor position = one_hot.cumsum(0).gather(1, flat_experts.unsqueeze(1)).squeeze(1) - 1;
  return position.lt(capacity);
}

torch::Tensor MoeBlockImpl::RunExperts(const torch::Tensor& rows, const std::vector<int64_t>& rows_per_expert) {
  const DispatchPlan plan = PlanDispatch(rows_per_expert, ep_);
  torch::Tensor local = DispatchToExperts(rows, plan, ep_);  // (R', C) grouped by local expert
  // Every expert runs, even on no rows, so its parameters always get a (zero) gradient.
  if (!per_expert_loop_ && CanGroupExperts(experts)) {
    return CombineFromExperts(RunGroupedExperts(experts, local, plan.local_expert_rows, is_training()), plan, ep_);
  }
  std::vector<torch::Tensor> outputs;
  int64_t offset = 0;
  for (size_t j = 0; j < experts.size(); ++j) {
    outputs.push_back(experts[j](local.narrow(0, offset, plan.local_expert_rows[j])));
    offset += plan.local_expert_rows[j];
  }
  return CombineFromExperts(torch::cat(outputs), plan, ep_);
}

torch::Tensor MoeBlockImpl::AuxLossAndStats(const Routing& routing, const torch::Tensor& dropped) {
  // [choices per expert (E), tokens, dropped choices, router entropy summed over tokens], summed over
  // the shares of the layer's tokens.
  torch::Tensor tally = torch::zeros({num_experts_ + 3}, routing.probs.options().dtype(torch::kDouble));
  tally.slice(0, 0, num_experts_).copy_(torch::bincount(routing.experts.reshape(-1), {}, num_experts_));
  tally[num_experts_].fill_(routing.probs.size(0));
  tally[num_experts_ + 1].copy_(dropped);
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor log_probs = torch::log_softmax(routing.logits / temperature_, -1);
    tally[num_experts_ + 2].copy_(-(routing.probs * log_probs).sum());
  }
  const torch::Tensor layer_tally = SumOverTokenShares(tally, tp_);
  tally = layer_tally.cpu();
  const torch::Tensor counts = tally.slice(0, 0, num_experts_);
  // f_e's counts and tokens, and the tokens P_e and the z-loss are means over: this micro-batch's, or
  // under global-batch balancing the window's (the same counts again when a backward recomputes).
  torch::Tensor f_counts = counts;
  double count_tokens = tally[num_experts_].item<double>(), mean_tokens = count_tokens;
  if (stats_->global_batch) {
    const torch::Tensor window = IsRecomputing() ? window_.Replay()
                                                 : window_.Add(layer_tally.slice(0, 0, num_experts_ + 1),
                                                               stats_->balance_group, stats_->step);
    f_counts = window.slice(0, 0, num_experts_);
    count_tokens = window[num_experts_].item<double>();
    mean_tokens = window[num_experts_ + 1].item<double>();
  }
  mean_tokens = std::max(mean_tokens, 1.0);

  torch::Tensor aux = torch::zeros({}, routing.probs.options());
  if (moe_.aux_loss_coef > 0) {
    aux = aux + LoadBalancingLoss(routing.probs, f_counts.to(routing.probs.device()), count_tokens, mean_tokens,
                                  top_k_, moe_.aux_loss_coef);
  }
  if (moe_.z_loss_coef > 0) {
    aux = aux + moe_.z_loss_coef * torch::logsumexp(routing.logits, -1).square().sum() / mean_tokens;
  }
  const torch::Tensor value = SumOverTokenShares(aux.detach().to(torch::kDouble), tp_).cpu();  // the layer's term
  // A recomputing backward (parallel/recompute.h) routes the same tokens again: it records nothing, and
  // only it attaches the aux gradient (the no-grad forward's aux does not require grad). The collectives
  // above still run there, in the same order on every rank.
  if (IsRecomputing()) return aux;
  stats_->expert_counts += counts.to(torch::kLong);
  stats_->dropped += tally[num_experts_ + 1].to(torch::kLong);
  // Diagnostics row: choices per expert, dropped choices, entropy sum, tokens.
  stats_->RecordLayer(slot_, torch::cat({counts, tally.slice(0, num_experts_ + 1, num_experts_ + 3),
                                         tally.slice(0, num_experts_, num_experts_ + 1)}));
  stats_->aux_sum = stats_->aux_sum.defined() ? stats_->aux_sum + value : value;
  return aux;
}

torch::Tensor MoeBlockImpl::forward(const torch::Tensor& x) {
  const int64_t c = x.size(-1);
  const torch::Tensor layer_tokens = x.reshape({-1, c});  // (N, C): a sequence shard under sequence parallelism
  const torch::Tensor h = TakeExpertTokenShare(layer_tokens, tp_);  // (n, C): the tokens this tp rank routes
  const int64_t n = h.size(0);
  const Routing routing = Route(h);
  // One row per (token, choice), token-major: (n * k).
  torch::Tensor flat_experts = routing.experts.reshape(-1);
  torch::Tensor flat_weights = routing.weights.reshape(-1);
  torch::Tensor tokens = torch::arange(n, flat_experts.options()).repeat_interleave(top_k_);
  torch::Tensor dropped = torch::zeros({}, torch::kLong);
  if (moe_.capacity_factor > 0) {
    torch::Tensor keep = CapacityMask(flat_experts, n);
    dropped = keep.numel() - keep.sum().cpu();
    flat_experts = flat_experts.masked_select(keep);
    flat_weights = flat_weights.masked_select(keep);
    tokens = tokens.masked_select(keep);
  }
  // Sort the choices by expert (stable: token order within an expert) and run each expert on its rows.
  torch::Tensor order = std::get<1>(torch::sort(flat_experts, /*stable=*/true, /*dim=*/0, /*descending=*/false));
  torch::Tensor sorted_tokens = tokens.index_select(0, order);
  torch::Tensor kept = torch::bincount(flat_experts, {}, num_experts_).cpu();
  std::vector<int64_t> rows_per_expert(kept.data_ptr<int64_t>(), kept.data_ptr<int64_t>() + num_experts_);
  torch::Tensor out = RunExperts(h.index_select(0, sorted_tokens), rows_per_expert);      // (R, C)
  out = out * flat_weights.index_select(0, order).unsqueeze(1);                            // weighted
  torch::Tensor y = torch::zeros({n, c}, out.options()).index_add(0, sorted_tokens, out);  // (n, C)

  torch::Tensor aux = AuxLossAndStats(routing, dropped);
  if (aux.requires_grad()) y = AttachAuxLoss::apply(y, aux, stats_->aux_scale);
  y = GatherExpertTokenShares(y, tp_, layer_tokens.size(0));  // (N, C)
  if (shared_expert_gate) {
    y = y + torch::sigmoid(shared_expert_gate(layer_tokens)) * shared_expert(layer_tokens);  // gate (N, 1)
  } else if (shared_expert) {
    y = y + shared_expert(layer_tokens);
  }
  return y.view(x.sizes()).to(x.scalar_type());
}

}  // namespace zen
