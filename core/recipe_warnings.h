// Settings that are legal but probably a mistake. The run goes ahead; `zen train` (rank 0) and
// `zen validate` print each once on stderr. The ranges are documented in docs/recipes.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config_tree.h"
#include "core/recipe.h"

namespace zen {

// One line per suspicious setting ("configs/recipes/x.yaml:17: optim.warmup_steps: ...").
// `total_steps`: the run's optimizer steps (TotalSteps of the recipe and its data); 0 = unknown.
std::vector<std::string> RecipeWarnings(const Recipe& recipe, const ConfigTree& tree, int64_t total_steps);

// The learning rates outside which optim.lr counts as far off: ten times beyond the usual range of
// published recipes (LoRA 1e-6..1e-3, full training 1e-7..1e-3; the guide's own go from 5e-7 to 5e-5).
struct LrRange {
  double low, high;
};
LrRange UnusualLrBounds(bool lora);

}  // namespace zen
