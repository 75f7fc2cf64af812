// `zen submit`: a training run as a SLURM batch job. The script comes from the template
// launch/slurm/train.sbatch.in (compiled in): #SBATCH lines from the flags, the ranks started by
// `srun --mpi=pmix` or by OpenMPI's mpirun inside the allocation, SLURM's warning signal passed on to
// the ranks (trainer/preemption.h), and with --requeue, a run preempted with its checkpoint saved (exit 75)
// put back in the queue, where the same script resumes it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace zen {

struct JobSpec {
  // What runs, and where: zen, workdir and output_dir absolute (the job starts on another node).
  std::string zen;
  std::string recipe;  // as given: relative paths resolve in workdir, where the job runs
  std::vector<std::string> overrides;
  std::string workdir;
  std::string output_dir;
  // The allocation. 0 / empty: not asked for (no #SBATCH line; SLURM's default).
  int64_t nodes = 0;
  int64_t tasks_per_node = 0;
  int64_t gpus_per_task = 0;
  int64_t cpus_per_task = 0;
  std::string time;       // SLURM's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S
  std::string partition;
  std::string job_name;   // default: the recipe file's name without .yaml
  std::string mpi = "pmix";  // pmix: srun --mpi=pmix; mpirun: OpenMPI's mpirun inside the allocation
  bool requeue = false;
  int64_t signal_grace_s = 120;  // SIGUSR1 this long before the time limit: time to save a checkpoint
};

// Sets the allocation fields from `zen submit`'s flags ("--nodes", "2"), ... and checks them all:
// BadInput naming the flag. --nodes and --tasks-per-node are required.
absl::Status ApplySubmitFlags(const std::vector<std::pair<std::string, std::string>>& flags, JobSpec& spec);

// SLURM's time limit forms as seconds; BadInput naming --time otherwise.
absl::StatusOr<int64_t> SlurmTimeSeconds(const std::string& time);

// Where the script and the job's log go: output_dir/slurm/train.sbatch and train-<jobid>.out.
std::string JobScriptPath(const JobSpec& spec);
std::string JobLogPath(const JobSpec& spec);

// {{name}} in `text` becomes values[name], even when empty; a line holding an optional {{?name}} whose value
// is empty is left out. A placeholder without a value is an internal error (a template out of step with
// the code).
absl::StatusOr<std::string> FillTemplate(const std::string& text, const std::map<std::string, std::string>& values);

// The job script for `spec`.
absl::StatusOr<std::string> RenderJobScript(const JobSpec& spec);

// Writes the script (creating output_dir/slurm) and submits it with `sbatch --parsable`; returns the job id.
absl::StatusOr<std::string> SubmitJob(const JobSpec& spec);

// `word` as one bash word: unchanged when it is made of safe characters, else single-quoted.
std::string ShellWord(const std::string& word);

}  // namespace zen
