#include <climits>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "core/derived.h"           // defines: TotalSteps
#include "core/log.h"
#include "data/loader/source.h"     // defines: TokensPerEpochOf
#include "launch/sweep.h"           // defines: LoadSweep, PlanSweep
#include "launch/sweep_runner.h"    // defines: RunSweepLocally, RunOneLocally
#include "launch/sweep_slurm.h"     // defines: RenderSweepArrayScript, SubmitSweep
#include "launch/sweep_summary.h"   // defines: WriteSweepSummary, SummarizeRun

namespace zen {
namespace {

// The run's length as the trainer will compute it: a finite dataset (the demo task, prepared shards)
// ends it after train.epochs passes.
int64_t RunLength(const Recipe& recipe) { return TotalSteps(recipe.train, TokensPerEpochOf(recipe)); }

// The runs re-spawn this very binary, so a sweep never mixes builds.
std::string SelfPath() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : std::string("zen");
}

void PrintPlan(const SweepSpec& spec, const std::vector<SweepRun>& runs) {
  for (const SweepRun& run : runs) {
    const SummaryRow row = SummarizeRun(run);
    std::printf("%lld  %s  [%s, %lld/%lld steps]\n  %s\n", static_cast<long long>(run.index), run.name.c_str(),
                row.status.c_str(), static_cast<long long>(row.progress.last_step),
                static_cast<long long>(run.total_steps), absl::StrJoin(TrainCommandLine(SelfPath(), spec, run), " ").c_str());
  }
}

absl::StatusOr<int> Slurm(const RecipeArgs& args, const SweepSpec& spec, const std::vector<SweepRun>& runs) {
  SweepSlurmJob job;
  job.zen_binary = SelfPath();
  job.sweep_path = std::filesystem::absolute(args.recipe).lexically_normal().string();
  job.workdir = std::filesystem::current_path().string();
  job.overrides = args.overrides;
  for (const auto& [flag, value] : args.flags) {
    if (flag == "--sbatch") job.sbatch_options.push_back(value);
  }
  if (args.Has("--dry-run")) {
    std::printf("%s\n%s", RenderSweepArrayScript(job, spec, runs).c_str(), RenderSweepSummaryScript(job, spec).c_str());
    return 0;
  }
  ZEN_ASSIGN_OR_RETURN(std::vector<std::string> ids, SubmitSweep(job, spec, runs));
  Log0(absl::StrCat("zen sweep: submitted job array ", ids[0], " (", runs.size(), " tasks) and summary job ", ids[1],
                    "; the summary will be in ", spec.output_dir, "/summary.csv"));
  return 0;
}

absl::StatusOr<int> Sweep(const RecipeArgs& args) {
  ZEN_ASSIGN_OR_RETURN(SweepSpec spec, LoadSweep(args.recipe));
  AddCommandLineOverrides(spec, args.overrides);
  // Every run's recipe is loaded and checked here, before any of them starts.
  ZEN_ASSIGN_OR_RETURN(const std::vector<SweepRun> runs, PlanSweep(spec, RunLength));
  if (args.Has("--summary-only")) {
    ZEN_RETURN_IF_ERROR(WriteSweepSummary(spec, runs));
    Log0(absl::StrCat("zen sweep: wrote ", spec.output_dir, "/summary.csv and summary.md"));
    return 0;
  }
  for (const auto& [flag, value] : args.flags) {
    if (flag != "--run-index") continue;
    int64_t index = -1;
    if (!absl::SimpleAtoi(value, &index) || index < 0 || index >= static_cast<int64_t>(runs.size())) {
      return BadInput(absl::StrCat("--run-index: expected 0..", runs.size() - 1, " (", args.recipe, " has ",
                                   runs.size(), " runs), got \"", value, "\""));
    }
    return RunOneLocally(SelfPath(), spec, runs[index], runs.size());
  }
  if (args.Has("--slurm")) return Slurm(args, spec, runs);
  if (args.Has("--dry-run")) {
    PrintPlan(spec, runs);
    return 0;
  }
  return RunSweepLocally(SelfPath(), spec, runs);
}

}  // namespace

int SweepCommand(const Args& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    return ExitCode(BadInput("expected a sweep file first (zen sweep configs/sweeps/zen-nano-lora-rank-lr.yaml)"));
  }
  auto parsed = ParseRecipeArgs(args, {"--slurm", "--dry-run", "--summary-only"}, {"--run-index", "--sbatch"});
  if (!parsed.ok()) return ExitCode(parsed.status());
  absl::StatusOr<int> code = Sweep(*parsed);
  return code.ok() ? *code : ExitCode(code.status());
}

}  // namespace zen
