#include "core/derived.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace zen {

int64_t TotalSteps(const TrainSpec& t, std::optional<double> dataset_tokens) {
  const double per_step = static_cast<double>(TokensPerStep(t));
  double steps = std::numeric_limits<double>::infinity();
  if (t.token_budget > 0) steps = std::ceil(t.token_budget / per_step);
  if (dataset_tokens.has_value()) steps = std::min(steps, std::ceil(t.epochs * *dataset_tokens / per_step));
  if (t.max_steps > 0) steps = std::min(steps, static_cast<double>(t.max_steps));
  return std::isinf(steps) ? 0 : static_cast<int64_t>(steps);
}

}  // namespace zen
