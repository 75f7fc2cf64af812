#include "cli/commands.h"
#include "core/log.h"
#include "core/recipe_loader.h"
#include "parallel/communicator.h"
#include "parallel/grid.h"
#include "parallel/world.h"
#include "trainer/preemption.h"
#include "trainer/trainer.h"

namespace zen {

int TrainCommand(const Args& args) {
  const WorldInfo world = WorldFromEnvironment();
  SetLogRank(static_cast<int>(world.rank));
  // Bad input found here is found identically by every rank, before any rank talks to another:
  // rank 0 says it once and every rank exits 2.
  auto parsed = ParseRecipeArgs(args, {}, {});
  if (!parsed.ok()) return ExitCode(parsed.status());
  auto loaded = LoadRecipe(parsed->recipe, parsed->overrides);
  if (!loaded.ok()) return ExitCode(loaded.status());
  if (auto layout = CheckLayout(loaded->recipe, world.size); !layout.ok()) return ExitCode(layout.status());
  PrintRecipeWarnings(*loaded);

  auto result = Train(loaded->recipe);
  if (!result.ok()) {
    // A rank that fails ends the whole job at once: the others may be waiting for it in a collective.
    LogError(absl::StrCat("zen: ", result.status().message()));
    const int code = IsBadInput(result.status()) ? 2 : 1;
    if (world.size > 1) AbortJob(code);
    return code;
  }
  if (result->preempted_by != 0) {
    const int code = ExitCodeAfterSave(result->preempted_by);
    Log0(absl::StrCat("zen train: ", code == kExitPreempted ? "preempted" : "interrupted", " at step ", result->steps,
                      " (", SignalName(result->preempted_by), "): checkpoint saved, exiting with ", code,
                      "; the same command line resumes"));
    FinalizeMpi();
    return code;
  }
  Log0(absl::StrCat("zen train: done, ", result->steps, " steps, final loss ", result->final_loss,
                    result->skipped_steps > 0 ? absl::StrCat(", ", result->skipped_steps, " skipped") : ""));
  FinalizeMpi();
  return 0;
}

}  // namespace zen
