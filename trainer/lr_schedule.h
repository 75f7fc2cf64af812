// The learning rate of each optimizer step: linear warmup, then cosine decay to a floor.
#pragma once

#include <cstdint>

#include "core/recipe.h"  // defines: OptimSpec

namespace zen {

// `step` is the 0-based optimizer step about to run; `total_steps` the number of steps in the run.
//   step < W (W = optim.warmup_steps):  lr * (step + 1) / W   (the first step already moves; step W-1
//                                        runs at the full lr)
//   afterwards: cosine from lr at step W down to lr * min_lr_ratio at step total_steps - 1,
//     lr_min + (lr - lr_min) * (1 + cos(pi * (step - W) / (total_steps - 1 - W))) / 2
//   steps past total_steps - 1 stay at the floor.
// When total_steps <= W + 1 there is nothing to decay over: the run ends inside (or right at the end
// of) the warmup, and any step from W on gets the full lr.
double LearningRate(const OptimSpec& optim, int64_t step, int64_t total_steps);

}  // namespace zen
