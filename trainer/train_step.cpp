#include <cmath>
#include <limits>

#include "core/derived.h"
#include "trainer/grad_clip.h"
#include "trainer/precision.h"
#include "parallel/zero.h"
#include "trainer/train_state.h"

namespace zen {
namespace {

// This data-parallel rank's micro-batches of the step: rows are numbered over the whole run, so the
// global batch is the same whatever the layout; dp rank d takes its contiguous share of it.
std::vector<Batch> FetchMicroBatches(const TrainState& s, int64_t step) {
  const TrainSpec& t = s.recipe.train;
  const Layout& layout = s.grid->layout();
  const int64_t rows_per_rank = t.global_batch_size / layout.dp;
  const int64_t first = step * t.global_batch_size + s.grid->coords().dp * rows_per_rank;
  std::vector<Batch> micro;
  for (int64_t m = 0; m < AccumulationSteps(t, layout.dp); ++m) {
    micro.push_back(s.data->Rows(first + m * t.micro_batch_size, t.micro_batch_size).To(s.device));
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
double ClipByGlobalNorm(TrainState& s) {
  const double local = LocalSquaredGradNorm(s.tp_params, s.grid->layout().tp);
  const double norm = std::sqrt(SumOver(s.grid->tp(), local, s.device));
  const double max_norm = s.recipe.optim.grad_clip;
  if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {
    ScaleGrads(TrainableTensors(s), max_norm / (norm + 1e-6));
  }
  return norm;
}

}  // namespace

StepResult RunStep(TrainState& s, int64_t step, double lr) {
  const std::vector<Batch> micro = FetchMicroBatches(s, step);
  int64_t local_tokens = 0;
  for (const Batch& b : micro) local_tokens += b.LossTokens();
  // Every micro-batch's summed loss is divided by the token count of the whole global batch, so the
  // gradients (summed over micro-batches and dp ranks) are those of the global mean.
  StepResult result;
  result.loss_tokens = static_cast<int64_t>(SumOver(s.grid->dp(), local_tokens, s.device));
  const double denominator = std::max<int64_t>(result.loss_tokens, 1);

  double loss_sum = 0;
  for (const Batch& b : micro) {
    torch::Tensor loss;
    {
      AutocastScope autocast(s.recipe.train.dtype == "bf16", s.device);
      loss = s.model->loss_sum(s.model->forward(b.tokens, b.positions, b.segments), b.labels);
    }
    if (s.poison_loss) loss = loss * std::numeric_limits<float>::quiet_NaN();
    (loss / denominator).backward();
    loss_sum += loss.item<double>();
  }
  result.loss = SumOver(s.grid->dp(), loss_sum, s.device) / denominator;

  AllReducePartialGradients(s.tp_params, s.grid->tp());
  s.dp_buckets->AllReduce(s.grid->dp());
  result.grad_norm = ClipByGlobalNorm(s);
  result.finite = std::isfinite(result.loss) && std::isfinite(result.grad_norm);
  if (result.finite) {
    s.optimizer->Step(lr);
    if (s.recipe.parallel.zero == 1) BroadcastFromOwners(TrainableTensors(s), s.owners, s.grid->dp());
  }
  for (auto& [name, p] : s.trainable) p.mutable_grad() = torch::Tensor();
  return result;
}

}  // namespace zen
