#include <cstdio>
#include <filesystem>

#include "absl/strings/str_replace.h"
#include "cli/commands.h"
#include "core/log.h"
#include "core/recipe_loader.h"
#include "launch/job_script.h"
#include "parallel/grid.h"

namespace zen {
namespace fs = std::filesystem;
namespace {

// This executable, so the job runs the zen that submitted it (unless --zen names another).
std::string ThisExecutable() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "zen" : self.string();
}

// The job as the recipe and the flags describe it; the recipe is loaded and its layout checked against
// nodes × tasks, so a bad one stops here (exit 2), not in the queue.
absl::StatusOr<JobSpec> JobFromArgs(const RecipeArgs& parsed) {
  ZEN_ASSIGN_OR_RETURN(const LoadedRecipe loaded, LoadRecipe(parsed.recipe, parsed.overrides));
  JobSpec spec;
  spec.zen = ThisExecutable();
  spec.recipe = parsed.recipe;
  spec.overrides = parsed.overrides;
  spec.workdir = fs::current_path().string();
  spec.output_dir = fs::absolute(loaded.recipe.output_dir).lexically_normal().string();
  spec.job_name = fs::path(parsed.recipe).stem().string();
  ZEN_RETURN_IF_ERROR(ApplySubmitFlags(parsed.flags, spec));
  const int64_t world = spec.nodes * spec.tasks_per_node;
  ZEN_RETURN_IF_ERROR(Annotate(CheckLayout(loaded.recipe, world).status(),
                               absl::StrCat("--nodes ", spec.nodes, " x --tasks-per-node ", spec.tasks_per_node)));
  return spec;
}

}  // namespace

int SubmitCommand(const Args& args) {
  const auto parsed = ParseRecipeArgs(args, {"--requeue", "--dry-run"},
                                      {"--nodes", "--tasks-per-node", "--gpus-per-task", "--cpus-per-task", "--time",
                                       "--partition", "--job-name", "--mpi", "--signal-grace", "--zen"});
  if (!parsed.ok()) return ExitCode(parsed.status());
  const auto spec = JobFromArgs(*parsed);
  if (!spec.ok()) return ExitCode(spec.status());
  if (parsed->Has("--dry-run")) {
    const auto script = RenderJobScript(*spec);
    if (!script.ok()) return ExitCode(script.status());
    std::fputs(script->c_str(), stdout);
    return 0;
  }
  const auto id = SubmitJob(*spec);
  if (!id.ok()) return ExitCode(id.status());
  Log0(absl::StrCat("zen submit: job ", *id, " (", JobScriptPath(*spec), "), log ",
                    absl::StrReplaceAll(JobLogPath(*spec), {{"%j", *id}})));
  std::printf("%s\n", id->c_str());
  return 0;
}

}  // namespace zen
