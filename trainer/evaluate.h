// Forward-only scoring with the training layout (tp, pp, ep, dp): `zen eval` on sequences, and the
// held-out validation loss during training. The model runs in eval mode (no LoRA dropout) and keeps no
// activations for a backward.
#pragma once

#include <cstdint>
#include <vector>

#include "core/recipe.h"
#include "data/loader/batch.h"
#include "trainer/train_state.h"

namespace zen {

struct Score {
  double loss_sum = 0;  // summed next-token cross entropy
  int64_t tokens = 0;   // tokens it is summed over
  double MeanLoss() const { return tokens > 0 ? loss_sum / static_cast<double>(tokens) : 0.0; }
};

// Collective. `batches` is the same list on every rank; data-parallel rank d scores batches d, d + dp, ...
// (every rank as many: expert parallelism needs its group in step).
// Returns every batch's score on every rank.
std::vector<Score> ScoreBatches(TrainState& s, const std::vector<Batch>& batches);

// The loss over eval.rows held-out rows (data.eval_fraction), in micro-batches of train.micro_batch_size.
Score HeldOutScore(TrainState& s);

// `zen eval`: builds the recipe's model like training does (Hugging Face weights from model.checkpoint,
// then the latest checkpoint in output_dir if there is one) and scores each sequence of token ids.
// Collective over the job's ranks; every rank gets the scores.
absl::StatusOr<std::vector<Score>> EvaluateSequences(const Recipe& recipe,
                                                     const std::vector<std::vector<int64_t>>& sequences);

}  // namespace zen
