#include "parallel/pipeline_split.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "absl/strings/str_join.h"

namespace zen {

std::vector<LayerRange> BalanceStages(const std::vector<double>& layer_costs, double head_cost, int64_t stages) {
  const auto layers = static_cast<int64_t>(layer_costs.size());
  TORCH_CHECK(1 <= stages && stages <= layers, "cannot split ", layers, " layers into ", stages, " stages");
  std::vector<double> prefix(layers + 1, 0.0);  // prefix[l]: cost of layers [0, l)
  std::partial_sum(layer_costs.begin(), layer_costs.end(), prefix.begin() + 1);
  const double inf = std::numeric_limits<double>::infinity();
  // best[s][l]: the least possible max stage cost when stages [0, s) hold layers [0, l); cut[s][l] is
  // where stage s - 1 starts in that split. O(stages * layers^2): a few hundred layers at most.
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(layers + 1, inf));
  std::vector<std::vector<int64_t>> cut(stages + 1, std::vector<int64_t>(layers + 1, 0));
  best[0][0] = 0;
  for (int64_t s = 1; s <= stages; ++s) {
    for (int64_t l = s; l <= layers; ++l) {
      for (int64_t start = s - 1; start < l; ++start) {
        const double own = prefix[l] - prefix[start] + (s == stages ? head_cost : 0.0);
        const double cost = std::max(best[s - 1][start], own);
        if (cost < best[s][l]) best[s][l] = cost, cut[s][l] = start;
      }
    }
  }
  std::vector<LayerRange> ranges(stages);
  for (int64_t s = stages, end = layers; s >= 1; --s) {
    ranges[s - 1] = {cut[s][end], end};
    end = cut[s][end];
  }
  return ranges;
}

absl::StatusOr<std::vector<LayerRange>> StagesFromCounts(const std::vector<int64_t>& counts, int64_t layers,
                                                         int64_t stages) {
  const int64_t sum = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  const bool positive = std::all_of(counts.begin(), counts.end(), [](int64_t c) { return c > 0; });
  if (static_cast<int64_t>(counts.size()) != stages || sum != layers || !positive) {
    return BadInput(absl::StrCat("parallel.stage_layers: [", absl::StrJoin(counts, ", "), "] must be ", stages,
                                 " positive layer counts (one per pipeline stage) summing to model.layers (", layers,
                                 ")"));
  }
  std::vector<LayerRange> ranges;
  int64_t first = 0;
  for (int64_t c : counts) {
    ranges.push_back({first, first + c});
    first += c;
  }
  return ranges;
}

}  // namespace zen
