// Loading a recipe: the recipe file over its model file, or over a Hugging Face config.json's architecture
// when one is given (core/hf_config.h), then `key=value` / `~key` overrides, then the strict schema and
// validation.
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

// config.resolved.yaml's text.
std::string ResolvedYaml(const Recipe& recipe);

}  // namespace zen
