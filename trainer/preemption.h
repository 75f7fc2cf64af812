// Preemption: a scheduler warns a job before ending it. SLURM sends SIGTERM at the time limit, on
// `scancel --signal=TERM` and on preemption, and `sbatch --signal=[B:]USR1@60` sends SIGUSR1 a minute
// early (mpirun forwards SIGUSR1 to every rank; SIGTERM to mpirun itself aborts the job).
// The handler only records the signal. At each step boundary the trainer asks whether ANY rank got one
// (one all-reduce max over the world), so ranks that were not signalled stop too, all at the same step;
// they save a checkpoint and `zen train` exits with kExitPreempted. The same command line resumes.
#pragma once

#include <csignal>
#include <string>

#include <torch/torch.h>

#include "parallel/communicator.h"

namespace zen {

// The exit status after a preemption save: EX_TEMPFAIL of sysexits.h ("temporary failure, try again
// later"). Not 0, so `zen train && zen export` does not export an unfinished run; not 1, so a job script
// can tell "checkpoint saved, requeue me" from a failure (launch/slurm/train.sbatch.in does).
inline constexpr int kExitPreempted = 75;

// Installs the SIGTERM and SIGUSR1 handlers for its lifetime (SA_RESTART: file writes and MPI polling go
// on undisturbed) and restores the previous ones after. One at a time per process.
class PreemptionSignals {
 public:
  PreemptionSignals();
  ~PreemptionSignals();
  PreemptionSignals(const PreemptionSignals&) = delete;
  PreemptionSignals& operator=(const PreemptionSignals&) = delete;

  // The last preemption signal this process received since construction (0: none).
  static int Received();

 private:
  struct sigaction previous_term_ {};
  struct sigaction previous_usr1_ {};
};

// Collective over `world` (a tensor on `device`, for NCCL): the largest preemption signal number any rank
// received, 0 when none did. Every rank gets the same answer at the same step.
int AgreedPreemptionSignal(Communicator& world, const torch::Device& device);

// "SIGTERM", "SIGUSR1", or "signal N" for messages.
std::string SignalName(int signal);

}  // namespace zen
