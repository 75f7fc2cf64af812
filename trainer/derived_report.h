// The numbers `zen validate` derives from a recipe, beside the reference guide's own claims.
#pragma once

#include <nlohmann/json.hpp>

#include "core/recipe.h"

namespace zen {

// {"params_total", "params_active", "params_trainable", "trainable_pct", "tokens_per_step",
//  "total_steps", "accumulation_steps", "memory_gb": {"fp32", "fp16", "int8", "int4"}}
nlohmann::json DerivedNumbers(const Recipe& recipe);

// The guide's figures for the same quantities (only those it gives).
nlohmann::json ReferenceNumbers(const Recipe& recipe);

// Human-readable table: ours, the guide's, and a mark where they differ by more than 10%.
std::string ComparisonTable(const nlohmann::json& derived, const nlohmann::json& reference);

}  // namespace zen
