// The recipe schema: every key a recipe may hold, its type and default, read strictly from a ConfigTree.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/config_tree.h"
#include "core/recipe.h"

namespace zen {

// Every key the schema knows, dotted ("train.max_steps").
const std::vector<std::string>& RecipeKeys();

// LoRA target names a recipe may use (models/lora.cpp maps them onto modules).
const std::vector<std::string>& KnownLoraTargets();

// Fills `recipe` from `tree`: an unknown key or a value of the wrong type is BadInput naming the key
// and where it was set ("configs/recipes/zen-nano-lora.yaml:14: train.max_stepz: unknown key ...").
absl::Status ReadRecipe(const ConfigTree& tree, Recipe& recipe);

// Range and consistency checks on a read recipe; messages name the key and where it was set.
absl::Status ValidateRecipe(const Recipe& recipe, const ConfigTree& tree);

// The part of ValidateRecipe's model checks that building the decoder needs (sizes, heads, experts), in
// the same words, for a ModelSpec that no recipe file describes: "model.top_k: must be between ...".
absl::Status ValidateModelShapes(const ModelSpec& spec);

// The whole recipe, defaults included, as YAML (what config.resolved.yaml holds).
YAML::Node RecipeToYaml(const Recipe& recipe);

}  // namespace zen
