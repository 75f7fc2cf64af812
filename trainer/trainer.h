// The training run: builds this rank's model, reads its data, and runs optimizer steps until the
// recipe's token budget, epochs or max_steps end it, writing metrics as it goes. A preemption signal
// (trainer/preemption.h) on any rank ends it early, at a step boundary, with a checkpoint.
#pragma once

#include <cstdint>

#include "core/recipe.h"
#include "core/status.h"

namespace zen {

struct TrainResult {
  int64_t steps = 0;          // optimizer steps taken (skipped ones included)
  int64_t skipped_steps = 0;  // steps whose loss or gradients were not finite
  double final_loss = 0;
  int preempted_by = 0;       // a preemption signal stopped the run after `steps` (checkpoint saved); 0: it ran to the end
};

absl::StatusOr<TrainResult> Train(const Recipe& recipe);

}  // namespace zen
