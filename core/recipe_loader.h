// Loading a recipe: the recipe file over its model file (and a Hugging Face config.json when given),
// then `key=value` / `~key` overrides, then the strict schema and validation.
#pragma once

#include <string>
#include <vector>

#include "core/config_tree.h"
#include "core/recipe.h"

namespace zen {

struct LoadedRecipe {
  Recipe recipe;
  ConfigTree tree;  // the merged tree, for messages that name where a key was set
};

absl::StatusOr<LoadedRecipe> LoadRecipe(const std::string& path, const std::vector<std::string>& overrides);

// The model keys a Hugging Face config.json implies (model.layers, model.hidden, ...), as a tree.
absl::StatusOr<ConfigTree> ModelTreeFromHfConfig(const std::string& config_json_path);

// config.resolved.yaml's text.
std::string ResolvedYaml(const Recipe& recipe);

}  // namespace zen
