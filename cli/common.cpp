#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "core/derived.h"          // defines: TotalSteps
#include "core/log.h"
#include "core/recipe_loader.h"
#include "core/recipe_warnings.h"
#include "data/loader/source.h"    // defines: TokensPerEpochOf

namespace zen {

bool RecipeArgs::Has(const std::string& flag) const {
  return std::any_of(flags.begin(), flags.end(), [&](const auto& f) { return f.first == flag; });
}

absl::StatusOr<RecipeArgs> ParseRecipeArgs(const Args& args, const std::vector<std::string>& boolean_flags,
                                           const std::vector<std::string>& flags_with_value) {
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  RecipeArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) == 0) {
      if (contains(boolean_flags, a)) {
        parsed.flags.emplace_back(a, "");
      } else if (contains(flags_with_value, a)) {
        if (i + 1 >= args.size()) return BadInput(absl::StrCat(a, ": expects a value"));
        parsed.flags.emplace_back(a, args[++i]);
      } else {
        return BadInput(absl::StrCat(a, ": unknown flag"));
      }
    } else if (parsed.recipe.empty()) {
      parsed.recipe = a;
    } else {
      parsed.overrides.push_back(a);
    }
  }
  if (parsed.recipe.empty()) return BadInput("expected a recipe file (for example configs/recipes/zen-nano-lora.yaml)");
  return parsed;
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  Log0(absl::StrCat("zen: ", status.message()));
  return IsBadInput(status) ? 2 : 1;
}

void PrintRecipeWarnings(const LoadedRecipe& loaded) {
  if (LogRank() != 0) return;
  const int64_t total_steps = TotalSteps(loaded.recipe.train, TokensPerEpochOf(loaded.recipe));
  for (const std::string& warning : RecipeWarnings(loaded.recipe, loaded.tree, total_steps)) {
    Log0(absl::StrCat("zen: warning: ", warning));
  }
}

}  // namespace zen
