#include "data/loader/blend_schedule.h"

#include <algorithm>
#include <numeric>

namespace zen {

BlendSchedule::BlendSchedule(const std::vector<double>& weights) : weights_(weights) {
  const double sum = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  for (double& w : weights_) w /= sum;
  checkpoints_.push_back(std::vector<int64_t>(weights_.size(), 0));
}

// Megatron-Core's build_blending_indices: the largest error weight * max(row, 1) - count wins.
int BlendSchedule::Pick(int64_t row, const std::vector<int64_t>& counts) const {
  const double rows = static_cast<double>(std::max<int64_t>(row, 1));
  int best = 0;
  double best_error = weights_[0] * rows - static_cast<double>(counts[0]);
  for (int s = 1; s < Sources(); ++s) {
    const double error = weights_[s] * rows - static_cast<double>(counts[s]);
    if (error > best_error) best = s, best_error = error;
  }
  return best;
}

std::vector<int64_t> BlendSchedule::CountsBefore(int64_t row) const {
  const int64_t k = row / kStride;
  std::vector<int64_t> counts;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    while (static_cast<int64_t>(checkpoints_.size()) <= k) {
      std::vector<int64_t> next = checkpoints_.back();
      const int64_t begin = (static_cast<int64_t>(checkpoints_.size()) - 1) * kStride;
      for (int64_t g = begin; g < begin + kStride; ++g) ++next[Pick(g, next)];
      checkpoints_.push_back(std::move(next));
    }
    counts = checkpoints_[k];
  }
  for (int64_t g = k * kStride; g < row; ++g) ++counts[Pick(g, counts)];
  return counts;
}

std::vector<BlendSchedule::Draw> BlendSchedule::Locate(int64_t first, int64_t count) const {
  std::vector<int64_t> counts = CountsBefore(first);
  std::vector<Draw> draws;
  draws.reserve(count);
  for (int64_t g = first; g < first + count; ++g) {
    const int s = Pick(g, counts);
    draws.push_back({s, counts[s]++});
  }
  return draws;
}

std::vector<int64_t> BlendSchedule::RowsPerSource(int64_t rows) const { return CountsBefore(rows); }

}  // namespace zen
