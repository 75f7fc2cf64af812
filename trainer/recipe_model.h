// The model a recipe names, whole in one process, for the commands that use a trained model rather than
// train one (`zen generate`): the checkpoint `zen train` would resume from (train.resume_from's, else the
// latest complete one in output_dir) when there is one (every parameter from CheckpointReader::Full, LoRA
// adapters attached as the recipe says and left unmerged), else the Hugging Face folder model.checkpoint.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "core/recipe.h"    // defines: Recipe
#include "models/qwen3.h"   // defines: Qwen3

namespace zen {

struct RecipeModel {
  Qwen3 model{nullptr};
  std::string source;  // where the weights came from, for the user: "<checkpoint dir> (step N)" or the HF folder
};

// BadInput when output_dir holds no checkpoint and model.checkpoint is unset, or when the checkpoint is
// of another model or LoRA setup (naming it). The model is in eval mode, fp32, on the CPU.
absl::StatusOr<RecipeModel> LoadRecipeModel(const Recipe& recipe);

}  // namespace zen
