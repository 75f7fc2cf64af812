#include "trainer/evaluate.h"

#include <algorithm>

#include "core/log.h"
#include "parallel/pipeline_schedule.h"
#include "parallel/sequence_parallel.h"  // defines: LocalSequenceLength
#include "trainer/checkpointing.h"
#include "trainer/model_stage.h"
#include "trainer/precision.h"  // defines: ComputesInBf16
#include "trainer/rank_setup.h"

namespace zen {
namespace {

// tokens (1, T) with next-token labels and positions 0..T-1.
Batch SequenceBatch(const std::vector<int64_t>& ids) {
  const auto t = static_cast<int64_t>(ids.size());
  torch::Tensor tokens = torch::tensor(ids, torch::kLong).view({1, t});
  torch::Tensor labels = torch::full({1, t}, kIgnoreLabel, torch::kLong);
  labels.slice(1, 0, t - 1).copy_(tokens.slice(1, 1, t));
  return {tokens, labels, torch::arange(t, torch::kLong).view({1, t}), torch::Tensor()};
}

}  // namespace

std::vector<Score> ScoreBatches(TrainState& s, const std::vector<Batch>& batches) {
  const Layout& l = s.grid->layout();
  const Coordinates& c = s.grid->coords();
  // Every dp rank runs the same number of forwards (expert parallelism exchanges tokens between dp ranks
  // in every MoE layer): a rank short of a batch repeats batch 0 and drops its score.
  const auto n = static_cast<int64_t>(batches.size());
  const int64_t per_rank = (n + l.dp - 1) / l.dp;
  std::vector<Batch> mine;
  std::vector<std::vector<int64_t>> shapes;
  for (int64_t k = 0; k < per_rank; ++k) {
    const int64_t i = c.dp + k * l.dp;
    const Batch& b = i < n ? batches[i] : batches[0];
    mine.push_back(b.To(s.device));
    // The hidden states between stages hold a sequence shard under sequence parallelism.
    shapes.push_back({b.tokens.size(0), LocalSequenceLength(b.tokens.size(1), s.grid->TensorGroup()), s.recipe.model.hidden});
  }
  s.model->eval();
  ModelStage stage(s.model, mine, /*denominator=*/1.0, ComputesInBf16(s.recipe.train), /*poison_loss=*/false);
  RunForwardOnly(stage, s.grid->pp(), shapes, ActivationOptions(s.recipe.train, s.device));
  s.model->train();
  // (batch, [loss sum, tokens]): filled by the last stage's tp rank 0 of the owning replica, summed over all.
  torch::Tensor table = torch::zeros({static_cast<int64_t>(batches.size()), 2}, torch::kDouble);
  // Held-out rows are scored whole (no context scope): every cp rank of a replica scores them, cp rank 0 reports.
  if (s.model->stage().has_head && c.tp == 0 && c.cp == 0) {
    const std::vector<double> sums = stage.MicroLossSums();
    for (size_t k = 0; k < mine.size(); ++k) {
      const int64_t i = c.dp + static_cast<int64_t>(k) * l.dp;
      if (i >= n) continue;  // a repeat
      table[i][0] = sums[k];
      table[i][1] = static_cast<double>(mine[k].LossTokens());
    }
  }
  table = table.to(s.device);
  s.world->AllReduceSum(table);
  table = table.cpu();
  std::vector<Score> scores;
  for (int64_t i = 0; i < table.size(0); ++i) {
    scores.push_back({table[i][0].item<double>(), static_cast<int64_t>(table[i][1].item<double>())});
  }
  return scores;
}

Score HeldOutScore(TrainState& s) {
  const int64_t micro = s.recipe.train.micro_batch_size;
  const int64_t rows = std::max<int64_t>(std::min(s.recipe.eval.rows, s.data->HeldOutWindows()), 1);
  std::vector<Batch> batches;
  for (int64_t first = 0; first < rows; first += micro) {
    batches.push_back(s.data->HeldOutRows(first, std::min(micro, rows - first)));
  }
  Score total;
  for (const Score& b : ScoreBatches(s, batches)) total.loss_sum += b.loss_sum, total.tokens += b.tokens;
  return total;
}

absl::StatusOr<std::vector<Score>> EvaluateSequences(const Recipe& recipe,
                                                     const std::vector<std::vector<int64_t>>& sequences) {
  TrainState s(recipe);
  try {
    ZEN_RETURN_IF_ERROR(OpenRank(s, WorldFromEnvironment()));
    ZEN_RETURN_IF_ERROR(BuildModel(s));
    // The checkpoint `zen train` would resume from: train.resume_from's, else the latest.
    absl::StatusOr<std::string> latest = CheckpointToResume(recipe);
    if (latest.ok()) {
      ZEN_ASSIGN_OR_RETURN(CheckpointReader reader, CheckpointReader::Open(*latest));
      ZEN_RETURN_IF_ERROR(LoadTrainingCheckpoint(s, reader));
      Log0(absl::StrCat("zen eval: the model of ", *latest));
    } else if (!absl::IsNotFound(latest.status())) {
      return latest.status();
    } else if (recipe.model.checkpoint.empty()) {
      return BadInput(absl::StrCat("zen eval: nothing to evaluate: no checkpoint in ", recipe.output_dir,
                                   "/checkpoints and no model.checkpoint (a Hugging Face folder)"));
    }
    std::vector<Batch> batches;
    for (const auto& ids : sequences) batches.push_back(SequenceBatch(ids));
    return ScoreBatches(s, batches);
  } catch (const c10::Error& e) {
    return absl::InternalError(e.what_without_backtrace());
  }
}

}  // namespace zen
