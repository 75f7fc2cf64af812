// A sweep as SLURM jobs: one job array with a task per run (each task `zen sweep SWEEP --run-index
// $SLURM_ARRAY_TASK_ID`), and a summary job that runs after the whole array (`--dependency=afterany`,
// so failed runs still get their row) and does `zen sweep SWEEP --summary-only`.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "launch/sweep.h"

namespace zen {

struct SweepSlurmJob {
  std::string zen_binary;           // absolute: the tasks start on other nodes
  std::string sweep_path;           // absolute
  std::string workdir;              // where zen sweep was started: relative recipe/data/output paths resolve here
  std::vector<std::string> overrides;       // `zen sweep`'s command-line overrides, repeated in every task
  std::vector<std::string> sbatch_options;  // extra "#SBATCH" options for the array, "--partition=gpu"
};

// The job array script: #SBATCH header, the run index -> name table as comments, the task's command.
std::string RenderSweepArrayScript(const SweepSlurmJob& job, const SweepSpec& spec, const std::vector<SweepRun>& runs);

// The script of the summary job.
std::string RenderSweepSummaryScript(const SweepSlurmJob& job, const SweepSpec& spec);

// Writes both scripts to output_dir/slurm/, submits the array with `sbatch --parsable`, then the summary
// job depending on it. Returns the two job ids. sbatch's failure is a runtime error with its exit code.
absl::StatusOr<std::vector<std::string>> SubmitSweep(const SweepSlurmJob& job, const SweepSpec& spec,
                                                     const std::vector<SweepRun>& runs);

}  // namespace zen
