// Which layers each pipeline stage holds. Contiguous ranges, every stage at least one layer; either as
// the recipe gives them (parallel.stage_layers) or balanced by a cost model: the split that makes the
// most expensive stage as cheap as possible, where the last stage also pays for the output head and
// the loss (for Zen-Nano the head costs about as much as six of its 24 layers).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace zen {

struct LayerRange {
  int64_t first = 0, end = 0;  // layers [first, end)
  bool operator==(const LayerRange& o) const { return first == o.first && end == o.end; }
};

// layer_costs[l]: the cost of layer l (any unit); head_cost: what the last stage pays on top.
// Needs 1 <= stages <= layers.
std::vector<LayerRange> BalanceStages(const std::vector<double>& layer_costs, double head_cost, int64_t stages);

// The recipe's explicit split: `counts` layers per stage, in order. BadInput (naming
// parallel.stage_layers) unless there are `stages` positive counts summing to `layers`.
absl::StatusOr<std::vector<LayerRange>> StagesFromCounts(const std::vector<int64_t>& counts, int64_t layers,
                                                         int64_t stages);

}  // namespace zen
