// Preemption: a scheduler warns a job before ending it. SLURM sends SIGTERM at the time limit, on
// `scancel --signal=TERM` and on preemption, and `sbatch --signal=[B:]USR1@60` sends SIGUSR1 a minute
// early (mpirun forwards SIGUSR1 to every rank; SIGTERM to mpirun itself aborts the job).
// The handler only records the signal. At each step boundary the trainer asks whether ANY rank got one
// (one all-reduce max over the world), so ranks that were not signalled stop too, all at the same step;
// they save a checkpoint and `zen train` exits with kExitPreempted. The same command line resumes.
// SIGINT (Ctrl-C) takes the same path but exits kExitInterrupted; a second SIGINT stops at once.
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

// The exit status after a save asked for by SIGINT (Ctrl-C): 128 + SIGINT, what a shell reports for an
// interrupted command. The user stopped the run, so a job script must not requeue it (75 would).
inline constexpr int kExitInterrupted = 128 + SIGINT;

// kExitInterrupted after SIGINT, kExitPreempted after the scheduler's signals.
int ExitCodeAfterSave(int signal);

// Installs the SIGTERM, SIGUSR1 and SIGINT handlers for its lifetime (SA_RESTART: file writes and MPI
// polling go on undisturbed) and restores the previous ones after. One at a time per process. SIGINT's is
// one-shot (SA_RESETHAND): a second Ctrl-C meets the default action and ends the process at once. An
// ignored SIGINT (a background job of a script) stays ignored.
class PreemptionSignals {
 public:
  PreemptionSignals();
  ~PreemptionSignals();
  PreemptionSignals(const PreemptionSignals&) = delete;
  PreemptionSignals& operator=(const PreemptionSignals&) = delete;

  // The strongest signal this process received since construction (0: none): the largest number, so a
  // scheduler's SIGTERM (15) or SIGUSR1 (10) outranks a Ctrl-C's SIGINT (2) and the job is requeued.
  static int Received();

 private:
  struct sigaction previous_term_ {};
  struct sigaction previous_usr1_ {};
  struct sigaction previous_int_ {};
};

// Collective over `world` (a tensor on `device`, for NCCL): the largest preemption signal number any rank
// received, 0 when none did. Every rank gets the same answer at the same step.
int AgreedPreemptionSignal(Communicator& world, const torch::Device& device);

// "SIGTERM", "SIGUSR1", "SIGINT", or "signal N" for messages.
std::string SignalName(int signal);

}  // namespace zen
