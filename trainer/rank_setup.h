// What every command that runs the model on ranks (train, eval) does first: open this rank's device,
// world and grid, and build its share of the model (its stage, tp slice and experts, LoRA attached,
// Hugging Face weights loaded) with the optimizer over the parameters it owns.
#pragma once

#include "parallel/world.h"
#include "trainer/train_state.h"

namespace zen {

// Checks the layout against the world, chooses the device and opens the world and grid groups.
absl::Status OpenRank(TrainState& s, const WorldInfo& world);

// This rank's model, parameter groups for gradient sync, and AdamW. Needs OpenRank first.
absl::Status BuildModel(TrainState& s);

}  // namespace zen
