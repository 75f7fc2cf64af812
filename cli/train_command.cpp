#include "cli/commands.h"
#include "core/log.h"
#include "core/recipe_loader.h"
#include "trainer/trainer.h"

namespace zen {

int TrainCommand(const Args& args) {
  auto parsed = ParseRecipeArgs(args, {}, {});
  if (!parsed.ok()) return ExitCode(parsed.status());
  auto loaded = LoadRecipe(parsed->recipe, parsed->overrides);
  if (!loaded.ok()) return ExitCode(loaded.status());
  auto result = Train(loaded->recipe);
  if (!result.ok()) return ExitCode(result.status());
  Log0(absl::StrCat("zen train: done, ", result->steps, " steps, final loss ", result->final_loss,
                    result->skipped_steps > 0 ? absl::StrCat(", ", result->skipped_steps, " skipped") : ""));
  return 0;
}

}  // namespace zen
