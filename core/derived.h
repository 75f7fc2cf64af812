// Numbers derived from a recipe that the trainer, `zen validate` and the planner share.
#pragma once

#include <cstdint>
#include <optional>

#include "core/recipe.h"

namespace zen {

// Tokens one optimizer step consumes (padding included): global batch × sequence length.
inline int64_t TokensPerStep(const TrainSpec& t) { return t.global_batch_size * t.seq_len; }

// Micro-batches each data-parallel rank runs per optimizer step (gradient accumulation).
inline int64_t AccumulationSteps(const TrainSpec& t, int64_t dp_size) {
  return t.global_batch_size / (t.micro_batch_size * dp_size);
}

// Optimizer steps for the run: the token budget, and `epochs` passes over a dataset of known size,
// whichever ends first, capped by train.max_steps. Data of unknown size (shards not prepared yet, as
// `zen validate` may see them) is bounded by the budget alone.
int64_t TotalSteps(const TrainSpec& t, std::optional<double> dataset_tokens = std::nullopt);

}  // namespace zen
