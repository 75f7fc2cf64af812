#include <algorithm>
#include <cmath>

#include "core/derived.h"
#include "parallel/context_parallel.h"   // defines: ContextParallelScope, TakeContextShard
#include "parallel/sequence_parallel.h"  // defines: LocalSequenceLength
#include "parallel/zero.h"
#include "trainer/grad_clip.h"
#include "trainer/model_stage.h"
#include "trainer/precision.h"  // defines: ComputesInBf16
#include "trainer/train_state.h"

namespace zen {
namespace {

// A text batch's rows cut to this cp rank's chunks (CheckLayout refuses media under context parallelism).
// Without context parallelism the batch passes whole, media included.
Batch ContextShard(const Batch& b, const CpGroup& cp) {
  if (cp.size == 1) return b;
  Batch shard = b;
  shard.tokens = TakeContextShard(b.tokens, cp);
  shard.labels = TakeContextShard(b.labels, cp);
  shard.positions = TakeContextShard(b.positions, cp);
  shard.segments = TakeContextShard(b.segments, cp);
  return shard;
}

// This data-parallel rank's micro-batches of the step: rows are numbered over the whole run, so the
// global batch is the same whatever the layout; dp rank d takes its contiguous share of it, and under
// context parallelism each cp rank keeps its two chunks of every row (positions stay global).
std::vector<Batch> FetchMicroBatches(const TrainState& s, int64_t step) {
  const TrainSpec& t = s.recipe.train;
  const Layout& layout = s.grid->layout();
  const int64_t rows_per_rank = t.global_batch_size / layout.dp;
  const int64_t first = step * t.global_batch_size + s.grid->coords().dp * rows_per_rank;
  std::vector<Batch> micro;
  for (int64_t m = 0; m < AccumulationSteps(t, layout.dp); ++m) {
    micro.push_back(ContextShard(s.data->Rows(first + m * t.micro_batch_size, t.micro_batch_size).To(s.device),
                                 s.grid->ContextGroup()));
  }
  return micro;
}

// Sum of a scalar over a group, in double precision on the run's device.
double SumOver(Communicator& group, double value, torch::Device device) {
  torch::Tensor t = torch::full({1}, value, torch::TensorOptions().dtype(torch::kDouble).device(device));
  group.AllReduceSum(t);
  return t.item<double>();
}

std::vector<torch::Tensor> TrainableTensors(const TrainState& s) {
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : s.trainable) params.push_back(p);
  return params;
}

// Clips to optim.grad_clip (0 = off) by the global norm over every rank's share; returns the norm.
// tp_params leaves out the last stage's copy of a tied embedding, so each weight counts once.
// Experts differ across the expert group, so their share is summed over it first.
double ClipByGlobalNorm(TrainState& s) {
  const int64_t tp = s.grid->layout().tp;
  const double experts = SumOver(s.grid->ExpertGroup(), LocalSquaredGradNorm(s.expert_tp_params, tp), s.device);
  const double local = LocalSquaredGradNorm(s.tp_params, tp) + experts;
  const double norm = std::sqrt(SumOver(s.grid->pp(), SumOver(s.grid->tp(), local, s.device), s.device));
  const double max_norm = s.recipe.optim.grad_clip;
  if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {
    ScaleGrads(TrainableTensors(s), max_norm / (norm + 1e-6));
  }
  return norm;
}

// A tied embedding under pipeline parallelism is one weight held twice, by the first stage (embedding)
// and the last (head): their gradients are summed so both copies take the same update, as
// Megatron-Core's embedding group does.
void SumTiedEmbeddingGrads(TrainState& s) {
  if (!s.tied_embedding.defined()) return;
  torch::Tensor& grad = s.tied_embedding.mutable_grad();
  if (!grad.defined()) grad = torch::zeros_like(s.tied_embedding);
  torch::Tensor theirs = torch::empty_like(grad);
  s.grid->pp().SendRecv(grad, s.tied_peer, theirs, s.tied_peer);
  grad.add_(theirs);
}

// Per MoE layer of the model: each stage fills the rows of its layers (sums over dp: each layer already
// summed its tp and cp ranks' shares, SumOverTokenShares), the sum over pp gives every rank all of them.
// Returns this stage's rows: (its MoE layers, E + 3).
torch::Tensor CollectLayerDiagnostics(TrainState& s, const MoeStats& stats, StepResult& result) {
  const ModelSpec& spec = s.recipe.model;
  const StageRange& stage = s.model->stage();
  std::vector<int64_t> moe_layers;
  int64_t first_row = 0;  // this stage's first MoE layer among the model's
  for (int64_t l = 0; l < spec.layers; ++l) {
    if (!spec.IsMoeLayer(l)) continue;
    if (l < stage.first_layer) ++first_row;
    moe_layers.push_back(l);
  }
  const int64_t width = spec.experts + 3;
  torch::Tensor all = torch::zeros({static_cast<int64_t>(moe_layers.size()), width}, torch::kDouble);
  if (stats.layer_tally.defined() && stats.layer_tally.size(0) > 0 && stats.layer_tally.size(1) == width) {
    all.slice(0, first_row, first_row + stats.layer_tally.size(0)).copy_(stats.layer_tally);
  }
  all = all.to(s.device);
  s.grid->dp().AllReduceSum(all);
  s.grid->pp().AllReduceSum(all);
  all = all.cpu();
  result.moe_layers = moe_layers;
  for (int64_t i = 0; i < all.size(0); ++i) {
    const torch::Tensor counts = all[i].slice(0, 0, spec.experts);
    const double mean = counts.mean().item<double>();
    const double tokens = std::max(all[i][spec.experts + 2].item<double>(), 1.0);
    result.load_imbalance.push_back(mean > 0 ? counts.max().item<double>() / mean : 0.0);
    result.layer_dropped_tokens.push_back(static_cast<int64_t>(all[i][spec.experts].item<double>()));
    result.router_entropy.push_back(all[i][spec.experts + 1].item<double>() / tokens);
  }
  return all.slice(0, first_row, first_row + std::max<int64_t>(stats.layers, 0));
}

// moe.router_bias_update_rate: each MoE block of this stage (module order is layer order, the order of its
// rows) nudges its bias by the layer's counts over the global batch, the same on every rank.
void UpdateRouterBiases(TrainState& s, const torch::Tensor& stage_rows) {
  if (s.recipe.moe.router_bias_update_rate <= 0) return;
  int64_t row = 0;
  for (const auto& module : s.model->modules(/*include_self=*/false)) {
    auto* block = dynamic_cast<MoeBlockImpl*>(module.get());
    if (block == nullptr) continue;
    block->UpdateRouterBias(stage_rows[row++].slice(0, 0, s.recipe.model.experts));
  }
}

// MoE: the routing statistics of the step, summed over micro-batches, the data-parallel ranks and pipeline
// stages (each MoE layer already summed its tp and cp ranks' shares of the tokens, SumOverTokenShares).
torch::Tensor CollectMoeStats(TrainState& s, StepResult& result) {
  MoeStats* stats = s.model->moe_stats();
  const int64_t experts = s.recipe.model.experts;
  torch::Tensor v = torch::zeros({2 + experts}, torch::kDouble);
  if (stats->aux_sum.defined()) v[0] = stats->aux_sum.item<double>();
  v[1] = stats->dropped.item<int64_t>();
  v.slice(0, 2).copy_(stats->expert_counts);
  v = v.to(s.device);
  s.grid->dp().AllReduceSum(v);
  s.grid->pp().AllReduceSum(v);
  v = v.cpu();
  result.aux_loss = v[0].item<double>() * stats->aux_scale;
  result.dropped_tokens = static_cast<int64_t>(v[1].item<double>());
  const double routed = std::max(v.slice(0, 2).sum().item<double>(), 1.0);
  for (int64_t e = 0; e < experts; ++e) result.expert_load.push_back(v[2 + e].item<double>() / routed);
  return CollectLayerDiagnostics(s, *stats, result);
}

}  // namespace

StepResult RunStep(TrainState& s, int64_t step, double lr) {
  const std::vector<Batch> micro = FetchMicroBatches(s, step);
  int64_t local_tokens = 0;
  for (const Batch& b : micro) local_tokens += b.LossTokens();
  // Every micro-batch's summed loss is divided by the token count of the whole global batch, so the
  // gradients (summed over micro-batches and dp ranks) are those of the global mean.
  StepResult result;
  result.loss_tokens = static_cast<int64_t>(SumOver(s.grid->LossGroup(), local_tokens, s.device));
  const double denominator = std::max<int64_t>(result.loss_tokens, 1);

  const TrainSpec& t = s.recipe.train;
  // Each micro-batch's aux terms enter the objective with weight 1 / (micro-batches in the global batch).
  // Under global-batch balancing the ranks' parts of a micro-step's term add up over the loss group, so
  // the weight is 1 / (micro-batches per rank) (docs/moe.md).
  if (MoeStats* stats = s.model->moe_stats()) {
    stats->Reset(s.recipe.model.experts);
    stats->global_batch = s.recipe.moe.balance == "global_batch";
    // The layers' counts already hold their tp and cp shares, so the step's other tokens are on the dp ranks.
    stats->balance_group = s.grid->dp().size() > 1 ? &s.grid->dp() : nullptr;
    const double micro_batches = static_cast<double>(t.global_batch_size / t.micro_batch_size);
    stats->aux_scale = stats->global_batch ? 1.0 / static_cast<double>(micro.size()) : 1.0 / micro_batches;
  }
  ModelStage stage(s.model, micro, denominator, ComputesInBf16(t), s.poison_loss);
  // Attention reads the whole row over the cp group through the forwards and the backwards (and a
  // recomputed layer's re-run); the stages pass (B, T/cp, C), or T/(cp × tp) under sequence parallelism.
  const ContextParallelScope context(s.grid->ContextGroup());
  const int64_t local_t = LocalSequenceLength(t.seq_len / s.grid->layout().cp, s.grid->TensorGroup());
  const PipelineStats pipeline = RunPipeline(s.schedule, stage, s.grid->pp(), static_cast<int64_t>(micro.size()),
                                             {t.micro_batch_size, local_t, s.recipe.model.hidden},
                                             ActivationOptions(t, s.device));
  result.pipeline_wait_s = pipeline.wait_s;
  result.peak_in_flight = pipeline.peak_in_flight;
  // Only the last stage computed losses; the others add zero.
  result.loss =
      SumOver(s.grid->pp(), SumOver(s.grid->LossGroup(), stage.LossSum(), s.device), s.device) / denominator;

  torch::Tensor moe_layers;  // this stage's MoE layers' counts over the step
  if (MoeStats* stats = s.model->moe_stats()) {
    stats->global_batch = false;  // evaluation balances per micro-batch, without collectives
    moe_layers = CollectMoeStats(s, result);
  }

  AllReducePartialGradients(s.tp_params, s.grid->tp());
  AllReducePartialGradients(s.expert_tp_params, s.grid->tp());
  SumTiedEmbeddingGrads(s);
  s.dp_buckets->AllReduce(s.grid->GradSyncGroup());
  s.edp_buckets->AllReduce(s.grid->ExpertGradSyncGroup());
  result.grad_norm = ClipByGlobalNorm(s);
  result.finite = std::isfinite(result.loss) && std::isfinite(result.grad_norm);
  if (result.finite) {
    if (moe_layers.defined()) UpdateRouterBiases(s, moe_layers);
    s.optimizer->Step(lr);
    if (s.recipe.parallel.zero == 1) BroadcastFromOwners(TrainableTensors(s), s.owners, s.grid->OptimizerShardGroup());
  }
  for (auto& [name, p] : s.trainable) p.mutable_grad() = torch::Tensor();
  return result;
}

}  // namespace zen
