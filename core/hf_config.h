// A Hugging Face config.json as zen's model.* keys. The config defines the whole architecture: every
// architecture key zen knows takes the config's value or, where the config is silent, the default of its
// model_type's transformers class (Qwen3Config for "qwen3", Qwen3MoeConfig for "qwen3_moe"), never a guide
// model file's. What zen does not implement (another model_type, linear attention, partial or scaled RoPE,
// attention biases, ...) is BadInput naming the field: "<config.json>: <field>: ...". docs/recipes.md.
#pragma once

#include <string>

#include "core/config_tree.h"

namespace zen {

// Every architecture key (model.layers, ..., model.experts, model.vision.layers, ...) as config.json
// implies it. Origins name the file and the field ("config.json: num_hidden_layers"), or the class whose
// default filled an absent field.
absl::StatusOr<ConfigTree> ModelTreeFromHfConfig(const std::string& config_json_path);

// Whether a dotted model.* key shapes the model (so an HF config decides it), rather than naming or
// locating it (model.name, model.file, model.hf_config, model.checkpoint).
bool IsArchitectureKey(const std::string& dotted);

}  // namespace zen
