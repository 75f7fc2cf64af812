// The model as one pipeline stage of a training step: which layers this rank holds, and the forward
// the schedule (parallel/pipeline_schedule.h) calls for each micro-batch. With one stage the schedule
// is simply forward, backward per micro-batch: there is no separate non-pipelined path.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "core/recipe.h"
#include "data/loader/batch.h"
#include "models/qwen3.h"
#include "parallel/grid.h"
#include "parallel/pipeline_schedule.h"

namespace zen {

// The layers stage `stage` of layout.pp holds: parallel.stage_layers when given, else the split that
// balances forward FLOPs (models/param_count.h), the head counted on the last stage.
StageRange ChooseStage(const Recipe& recipe, const Layout& layout, int64_t stage);

class ModelStage : public PipelineStage {
 public:
  // `micro`: this rank's micro-batches of the step; `denominator`: the loss tokens of the whole global
  // batch, so that the summed gradients are those of the global mean loss.
  ModelStage(Qwen3& model, const std::vector<Batch>& micro, double denominator, bool bf16, bool poison_loss);

  // Embedding (first stage) or the received hidden -> this stage's layers -> hidden, or on the last
  // stage the micro-batch's loss sum / denominator.
  torch::Tensor Forward(int64_t micro, const torch::Tensor& input) override;

  // The sum of next-token losses over the micro-batches this stage finished (0 unless the last stage).
  double LossSum() const { return loss_sum_.defined() ? loss_sum_.item<double>() : 0.0; }
  // Per micro-batch, in the order they finished: each one's loss sum (last stage only; empty elsewhere).
  std::vector<double> MicroLossSums() const;

 private:
  Qwen3& model_;
  const std::vector<Batch>& micro_;
  double denominator_;
  bool bf16_;
  bool poison_loss_;
  torch::Tensor loss_sum_;  // 0-d, accumulated without a host sync per micro-batch
  std::vector<torch::Tensor> micro_losses_;  // 0-d each
};

}  // namespace zen
