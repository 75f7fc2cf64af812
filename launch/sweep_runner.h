// Running a sweep's points on this machine: each run is its own `zen train` process (the zen binary
// itself), so a run that crashes or aborts costs that run only; the sweep records its exit code and goes on.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "launch/sweep.h"

namespace zen {

// Runs argv[0] (searched in PATH when it has no slash) with this process's environment and standard
// streams and waits for it. Returns its exit code, 128 + the signal that killed it, or 127 when it could
// not be started. A SIGTERM or SIGUSR1 this process receives meanwhile is passed on to the child (SLURM's
// warning before preemption or the time limit: the trainer saves a checkpoint and exits 75) and noted:
// see SweepStopRequested().
int SpawnAndWait(const std::vector<std::string>& argv);

// The same, with the child's standard output captured and returned (sbatch --parsable prints the job id).
absl::StatusOr<std::string> SpawnCapturingStdout(const std::vector<std::string>& argv, int* exit_code);

// True once a SIGTERM or SIGUSR1 arrived while a child ran: the sweep starts no further run.
bool SweepStopRequested();

// `zen train RECIPE OVERRIDES... output_dir=RUN_DIR`, with `zen` the given binary.
std::vector<std::string> TrainCommandLine(const std::string& zen_binary, const SweepSpec& spec, const SweepRun& run);

// Trains `run` unless it is already complete (then logs "skipped"); a partial run continues from its latest
// checkpoint through the trainer's own resume. Records the exit code in the run folder and returns it
// (0 when skipped). `of` is the number of runs, for the log line.
int RunOneLocally(const std::string& zen_binary, const SweepSpec& spec, const SweepRun& run, size_t of);

// Every run in order, one at a time, the summary rewritten after each. Returns 0 when every run is
// complete, 1 when any failed (the others still ran), or the interrupted run's code after a signal.
int RunSweepLocally(const std::string& zen_binary, const SweepSpec& spec, const std::vector<SweepRun>& runs);

}  // namespace zen
