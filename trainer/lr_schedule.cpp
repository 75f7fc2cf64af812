#include "trainer/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace zen {

double LearningRate(const OptimSpec& optim, int64_t step, int64_t total_steps) {
  const int64_t warmup = std::max<int64_t>(optim.warmup_steps, 0);
  if (step < warmup) return optim.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t decay_steps = total_steps - 1 - warmup;
  if (decay_steps <= 0) return optim.lr;
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / decay_steps);
  const double floor = optim.lr * optim.min_lr_ratio;
  return floor + (optim.lr - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace zen
