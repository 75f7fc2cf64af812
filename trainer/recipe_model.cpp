#include "trainer/recipe_model.h"

#include "checkpoints/checkpoint.h"     // defines: CheckpointReader
#include "checkpoints/hf_checkpoint.h"  // defines: LoadHfWeights
#include "checkpoints/hf_export.h"      // defines: LoadCheckpointModel
#include "checkpoints/peft_adapter.h"   // defines: LoadPeftAdapter
#include "core/status.h"
#include "models/lora.h"                // defines: ApplyLora
#include "trainer/checkpointing.h"      // defines: CheckpointToResume, CheckSameModel

namespace zen {

absl::StatusOr<RecipeModel> LoadRecipeModel(const Recipe& recipe) {
  RecipeModel loaded;
  // The checkpoint `zen train` would resume from: train.resume_from's, else the latest.
  const absl::StatusOr<std::string> latest = CheckpointToResume(recipe);
  if (latest.ok()) {
    ZEN_ASSIGN_OR_RETURN(CheckpointReader reader, CheckpointReader::Open(*latest));
    ZEN_RETURN_IF_ERROR(CheckSameModel(reader, recipe, "use the recipe and overrides that trained it"));
    ZEN_ASSIGN_OR_RETURN(loaded.model, LoadCheckpointModel(recipe, reader));
    loaded.source = absl::StrCat(reader.dir(), " (step ", reader.manifest().step, ")");
  } else if (!absl::IsNotFound(latest.status())) {
    return latest.status();
  } else if (!recipe.model.checkpoint.empty()) {
    // A Hugging Face folder holds no adapters: attaching fresh ones (B = 0) would change nothing, unless model.adapter.
    ZEN_ASSIGN_OR_RETURN(loaded.model,
                         MakeQwen3(recipe.model, ModelGroups{}, StageRange::Whole(recipe.model), recipe.moe));
    ZEN_RETURN_IF_ERROR(LoadHfWeights(recipe.model.checkpoint, *loaded.model, TpGroup{}));
    loaded.source = recipe.model.checkpoint;
    if (!recipe.model.adapter.empty()) {  // a PEFT adapter on that base
      ZEN_RETURN_IF_ERROR(ApplyLora(*loaded.model, recipe.lora).status());
      ZEN_RETURN_IF_ERROR(LoadPeftAdapter(recipe.model.adapter, *loaded.model, recipe.model, recipe.lora, TpGroup{}));
      loaded.source = absl::StrCat(loaded.source, " + adapter ", recipe.model.adapter);
    }
  } else {
    return BadInput(absl::StrCat("model.checkpoint: unset, and output_dir (", recipe.output_dir,
                                 ") holds no checkpoint: name a Hugging Face folder or train first"));
  }
  loaded.model->eval();
  return loaded;
}

}  // namespace zen
