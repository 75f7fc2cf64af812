#include "core/recipe_loader.h"

#include <filesystem>

#include "core/hf_config.h"
#include "core/recipe_schema.h"

namespace zen {
namespace fs = std::filesystem;

namespace {

absl::Status ApplyOverrides(ConfigTree& tree, const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) ZEN_RETURN_IF_ERROR(tree.ApplyOverride(o));
  return absl::OkStatus();
}

// A model file holds only `model:` and `reference:` sections (configs/models/*.yaml).
absl::StatusOr<ConfigTree> LoadModelFile(const std::string& path, const std::string& referenced_from) {
  if (!fs::exists(path)) return BadInput(absl::StrCat(referenced_from, ": model.file: no such file ", path));
  ZEN_ASSIGN_OR_RETURN(ConfigTree tree, ConfigTree::FromFile(path));
  for (const auto& kv : tree.root()) {
    const std::string key = kv.first.Scalar();
    if (key != "model" && key != "reference") {
      return BadInput(absl::StrCat(tree.OriginOf(key), ": ", key,
                                   ": a model file holds only `model` and `reference` sections"));
    }
  }
  return tree;
}

// Under a Hugging Face config the model file keeps its name and reference figures, not its architecture.
void EraseArchitecture(ConfigTree& model_file) {
  for (const std::string& key : model_file.LeafPaths()) {
    if (IsArchitectureKey(key)) model_file.Erase(key);
  }
}

}  // namespace

absl::StatusOr<LoadedRecipe> LoadRecipe(const std::string& path, const std::vector<std::string>& overrides) {
  ZEN_ASSIGN_OR_RETURN(ConfigTree recipe_tree, ConfigTree::FromFile(path));
  if (recipe_tree.root().size() == 0) {
    return BadInput(absl::StrCat(path, ": the recipe is empty; a recipe names its model (model.file: "
                                 "../models/zen-nano.yaml) and its settings, as configs/recipes/*.yaml do"));
  }
  // Overrides may change model.file, so apply them before reading it (and again on the merged tree).
  ConfigTree peek = recipe_tree;
  ZEN_RETURN_IF_ERROR(ApplyOverrides(peek, overrides));

  ConfigTree merged;
  if (peek.Has("model.file")) {
    fs::path model_file = peek.Get("model.file").Scalar();
    if (model_file.is_relative()) model_file = fs::path(path).parent_path() / model_file;
    model_file = model_file.lexically_normal();
    ZEN_ASSIGN_OR_RETURN(merged, LoadModelFile(model_file.string(), peek.OriginOf("model.file")));
    recipe_tree.Set("model.file", YAML::Node(model_file.string()), peek.OriginOf("model.file"));
  }
  // A Hugging Face config (explicit, or the checkpoint folder's) defines the architecture in the model
  // file's place; the recipe's own model.* keys and the overrides still go over it.
  std::string hf_config = peek.Has("model.hf_config") ? peek.Get("model.hf_config").Scalar() : "";
  if (hf_config.empty() && peek.Has("model.checkpoint")) {
    const fs::path candidate = fs::path(peek.Get("model.checkpoint").Scalar()) / "config.json";
    if (fs::exists(candidate)) hf_config = candidate.string();
  }
  if (!hf_config.empty()) {
    ZEN_ASSIGN_OR_RETURN(ConfigTree hf_tree, ModelTreeFromHfConfig(hf_config));
    EraseArchitecture(merged);
    merged.Merge(hf_tree);
  }
  merged.Merge(recipe_tree);
  ZEN_RETURN_IF_ERROR(ApplyOverrides(merged, overrides));
  if (!merged.Has("model")) {
    return BadInput(absl::StrCat(path, ": model: missing; name the architecture with model.file (a "
                                 "configs/models/ file), model.hf_config (a config.json) or model.checkpoint"));
  }

  LoadedRecipe loaded{Recipe{}, merged};
  ZEN_RETURN_IF_ERROR(ReadRecipe(merged, loaded.recipe));
  loaded.recipe.path = path;
  // The demo task is tokenized by the built-in byte tokenizer whatever tokenizer.path says (data/loader/demo_task.h):
  // that is the run's tokenizer, in config.resolved.yaml and for `zen generate` / `zen eval` on its model.
  if (loaded.recipe.data.source == "demo") loaded.recipe.tokenizer.path = "bytes";
  ZEN_RETURN_IF_ERROR(ValidateRecipe(loaded.recipe, merged));
  return loaded;
}

std::string ResolvedYaml(const Recipe& recipe) {
  YAML::Emitter out;
  out << RecipeToYaml(recipe);
  return std::string(out.c_str()) + "\n";
}

}  // namespace zen
