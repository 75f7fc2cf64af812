// The training run: builds this rank's model, reads its data, and runs optimizer steps until the
// recipe's token budget, epochs or max_steps end it, writing metrics as it goes.
#pragma once

#include <cstdint>

#include "core/recipe.h"
#include "core/status.h"

namespace zen {

struct TrainResult {
  int64_t steps = 0;          // optimizer steps taken (skipped ones included)
  int64_t skipped_steps = 0;  // steps whose loss or gradients were not finite
  double final_loss = 0;
};

absl::StatusOr<TrainResult> Train(const Recipe& recipe);

}  // namespace zen
