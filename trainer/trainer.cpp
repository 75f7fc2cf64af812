#include "trainer/trainer.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "checkpoints/hf_checkpoint.h"
#include "core/derived.h"
#include "core/log.h"
#include "data/source.h"
#include "models/lora.h"
#include "models/qwen3.h"
#include "parallel/world.h"
#include "trainer/adamw.h"
#include "trainer/grad_clip.h"
#include "trainer/lr_schedule.h"
#include "trainer/metrics.h"
#include "trainer/precision.h"
#include "trainer/progress.h"
#include "trainer/run_files.h"
#include "trainer/tensorboard.h"

namespace zen {
namespace {

using Clock = std::chrono::steady_clock;

// Everything one rank needs during the loop.
struct Run {
  const Recipe& recipe;
  WorldInfo world;
  torch::Device device = torch::kCPU;
  Qwen3 model{nullptr};
  std::unique_ptr<AdamW> optimizer;
  std::vector<torch::Tensor> trainable;
  std::unique_ptr<DataSource> data;
  int64_t total_steps = 0;
};

absl::Status CheckLayoutSupported(const Recipe& r, const WorldInfo& world) {
  if (r.parallel.tensor > 1 || r.parallel.pipeline > 1 || r.parallel.expert > 1 || world.size > 1) {
    return BadInput(absl::StrCat("parallel: this build trains one process (tensor, pipeline and expert "
                                 "parallelism arrive with the parallel issues); got world size ", world.size,
                                 ", tensor ", r.parallel.tensor, ", pipeline ", r.parallel.pipeline,
                                 ", expert ", r.parallel.expert));
  }
  return absl::OkStatus();
}

absl::StatusOr<torch::Device> ChooseDevice(const TrainSpec& t) {
  if (t.device == "cpu") return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available()) return BadInput("train.device=cuda: no CUDA device is visible");
  return torch::Device(torch::kCUDA, 0);
}

absl::Status BuildModel(Run& run) {
  const Recipe& r = run.recipe;
  ZEN_RETURN_IF_ERROR(CheckSupported(r.model));
  torch::manual_seed(r.train.seed);
  run.model = Qwen3(r.model, TpGroup{}, StageRange::Whole(r.model));
  if (!r.model.checkpoint.empty()) {
    ZEN_RETURN_IF_ERROR(LoadHfWeights(r.model.checkpoint, *run.model, TpGroup{}));
  }
  if (r.lora.enabled) ZEN_RETURN_IF_ERROR(ApplyLora(*run.model, r.lora).status());
  run.model->to(run.device);

  std::vector<NamedParam> named;
  for (const auto& item : run.model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    named.push_back({item.key(), item.value()});
    run.trainable.push_back(item.value());
  }
  run.optimizer = std::make_unique<AdamW>(named, r.optim);
  return absl::OkStatus();
}

std::vector<RankShare> CountShares(const Run& run) {
  RankShare share;
  for (const auto& p : run.model->parameters()) {
    share.params += p.numel();
    if (p.requires_grad()) share.trainable_params += p.numel();
  }
  return {share};
}

Batch ToDevice(const Batch& b, torch::Device device) {
  return {b.tokens.to(device), b.labels.to(device), b.positions.to(device)};
}

struct StepResult {
  double loss = 0;       // mean next-token loss over the global batch's unmasked tokens
  double grad_norm = 0;  // before clipping
  bool finite = true;
};

// One optimizer step: accumulate gradients over the step's micro-batches, clip, update.
// Each micro-batch's summed loss is divided by the token count of the whole global batch, so the
// gradient is that of the global mean, however the tokens are spread over micro-batches.
StepResult RunStep(Run& run, int64_t step, double lr) {
  const TrainSpec& t = run.recipe.train;
  const int64_t micro_steps = AccumulationSteps(t, /*dp_size=*/1);
  std::vector<Batch> micro;
  int64_t loss_tokens = 0;
  for (int64_t m = 0; m < micro_steps; ++m) {
    micro.push_back(run.data->Rows(step * t.global_batch_size + m * t.micro_batch_size, t.micro_batch_size));
    loss_tokens += micro.back().LossTokens();
  }
  const double denominator = std::max<int64_t>(loss_tokens, 1);

  double loss_sum = 0;
  for (const Batch& host_batch : micro) {
    const Batch b = ToDevice(host_batch, run.device);
    torch::Tensor loss;
    {
      AutocastScope autocast(t.dtype == "bf16", run.device);
      loss = run.model->loss_sum(run.model->forward(b.tokens, b.positions), b.labels);
    }
    (loss / denominator).backward();
    loss_sum += loss.item<double>();
  }

  StepResult result;
  result.loss = loss_sum / denominator;
  result.grad_norm = ClipGradNorm(run.trainable, run.recipe.optim.grad_clip);
  result.finite = std::isfinite(result.loss) && std::isfinite(result.grad_norm);
  if (result.finite) run.optimizer->Step(lr);
  run.optimizer->ZeroGrad();
  return result;
}

}  // namespace

absl::StatusOr<TrainResult> Train(const Recipe& recipe) {
  Run run{recipe};
  run.world = WorldFromEnvironment();
  ZEN_RETURN_IF_ERROR(CheckLayoutSupported(recipe, run.world));
  ZEN_ASSIGN_OR_RETURN(run.device, ChooseDevice(recipe.train));
  const int64_t threads = IntraOpThreads(recipe.train, run.world);
  torch::set_num_threads(static_cast<int>(threads));

  ZEN_ASSIGN_OR_RETURN(run.data, OpenDataSource(recipe));
  run.total_steps = TotalSteps(recipe.train, run.data->TokensPerEpoch());
  ZEN_RETURN_IF_ERROR(PrepareOutputDir(recipe));
  ZEN_RETURN_IF_ERROR(BuildModel(run));
  const std::vector<RankShare> shares = CountShares(run);
  ZEN_RETURN_IF_ERROR(WriteRunFiles(recipe, run.world, shares));
  Log0(absl::StrCat("zen train: ", recipe.model.name, ", ", shares[0].params, " parameters (",
                    shares[0].trainable_params, " trainable), ", run.total_steps, " steps of ",
                    TokensPerStep(recipe.train), " tokens, ", threads, " intra-op threads, ", recipe.train.dtype,
                    " on ", run.device.str()));

  ZEN_ASSIGN_OR_RETURN(std::unique_ptr<MetricsLog> metrics, MetricsLog::Open(recipe.output_dir));
  ZEN_ASSIGN_OR_RETURN(std::unique_ptr<TensorBoardWriter> tensorboard, TensorBoardWriter::Open(recipe.output_dir));
  ProgressLine progress(recipe.train.log_interval);

  TrainResult result;
  int64_t bad_in_a_row = 0;
  const int64_t tokens_per_step = TokensPerStep(recipe.train);
  for (int64_t step = 0; step < run.total_steps; ++step) {
    const double lr = LearningRate(recipe.optim, step, run.total_steps);
    const auto start = Clock::now();
    const StepResult s = RunStep(run, step, lr);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double tokens_per_s = tokens_per_step / seconds;
    result.steps = step + 1;

    if (!s.finite) {
      ++result.skipped_steps;
      LogError(absl::StrCat("step ", step + 1, ": loss ", s.loss, ", grad norm ", s.grad_norm,
                            " not finite: step skipped (", ++bad_in_a_row, " in a row)"));
      if (bad_in_a_row >= recipe.train.max_bad_steps) {
        return absl::AbortedError(absl::StrCat("training stopped: ", bad_in_a_row,
                                               " steps in a row had a non-finite loss or gradient "
                                               "(train.max_bad_steps); lower optim.lr or check the data"));
      }
    } else {
      bad_in_a_row = 0;
      result.final_loss = s.loss;
    }
    metrics->Write({{"step", step + 1}, {"loss", s.loss}, {"lr", lr}, {"grad_norm", s.grad_norm},
                   {"tokens", (step + 1) * tokens_per_step}, {"tokens_per_s", tokens_per_s},
                   {"step_time_s", seconds}, {"skipped_steps", result.skipped_steps}});
    tensorboard->AddScalar("train/loss", step + 1, s.loss);
    tensorboard->AddScalar("train/lr", step + 1, lr);
    tensorboard->AddScalar("train/grad_norm", step + 1, s.grad_norm);
    tensorboard->AddScalar("train/tokens_per_s", step + 1, tokens_per_s);
    progress.Update(step + 1, run.total_steps, s.loss, lr, tokens_per_s);
  }
  progress.Finish();
  ZEN_RETURN_IF_ERROR(tensorboard->Flush());
  ZEN_RETURN_IF_ERROR(metrics->status());
  return result;
}

}  // namespace zen
