#include "launch/sweep_runner.h"

#include <cerrno>
#include <csignal>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_join.h"
#include "core/log.h"
#include "launch/sweep_summary.h"

extern char** environ;

namespace zen {
namespace {

volatile sig_atomic_t g_child = 0;           // the running child, for the signal handler
volatile sig_atomic_t g_stop_requested = 0;

// SLURM's warnings (SIGTERM; SIGUSR1 from --signal=B:USR1@N) go on to the trainer, which saves a checkpoint
// and exits 75 (trainer/preemption.h); the sweep starts nothing further.
void Forward(int signal) {
  g_stop_requested = 1;
  if (g_child > 0) kill(static_cast<pid_t>(g_child), signal);
}

// Installs Forward for the lifetime of one child and restores the previous handlers after it.
class ForwardSignalsWhile {
 public:
  explicit ForwardSignalsWhile(pid_t child) {
    g_child = child;
    struct sigaction action {};
    action.sa_handler = Forward;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, &previous_term_);
    sigaction(SIGUSR1, &action, &previous_usr1_);
  }
  ~ForwardSignalsWhile() {
    sigaction(SIGTERM, &previous_term_, nullptr);
    sigaction(SIGUSR1, &previous_usr1_, nullptr);
    g_child = 0;
  }

 private:
  struct sigaction previous_term_ {};
  struct sigaction previous_usr1_ {};
};

int WaitFor(pid_t child) {
  ForwardSignalsWhile forward(child);
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127;
}

std::vector<char*> Argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// posix_spawnp: a bare name ("sbatch") is looked up in PATH, a path is used as given.
pid_t Spawn(const std::vector<std::string>& argv, const posix_spawn_file_actions_t* actions) {
  std::vector<char*> args = Argv(argv);
  pid_t pid = 0;
  if (posix_spawnp(&pid, args[0], actions, nullptr, args.data(), environ) != 0) return -1;
  return pid;
}

}  // namespace

int SpawnAndWait(const std::vector<std::string>& argv) {
  const pid_t child = Spawn(argv, nullptr);
  return child < 0 ? 127 : WaitFor(child);
}

absl::StatusOr<std::string> SpawnCapturingStdout(const std::vector<std::string>& argv, int* exit_code) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("cannot create a pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const pid_t child = Spawn(argv, &actions);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (child < 0) {
    close(fds[0]);
    return absl::InternalError(absl::StrCat("cannot run ", argv[0]));
  }
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) != 0;) {
    if (n > 0) out.append(buffer, static_cast<size_t>(n));
    else if (errno != EINTR) break;
  }
  close(fds[0]);
  *exit_code = WaitFor(child);
  return out;
}

bool SweepStopRequested() { return g_stop_requested != 0; }

std::vector<std::string> TrainCommandLine(const std::string& zen_binary, const SweepSpec& spec, const SweepRun& run) {
  std::vector<std::string> argv = {zen_binary, "train", spec.recipe};
  for (const std::string& o : RunOverrides(spec, run)) argv.push_back(o);
  return argv;
}

int RunOneLocally(const std::string& zen_binary, const SweepSpec& spec, const SweepRun& run, size_t of) {
  const std::string tag = absl::StrCat("zen sweep: [", run.index + 1, "/", of, "] ", run.name, ": ");
  const RunProgress progress = ReadRunProgress(run.dir);
  if (IsComplete(progress, run.total_steps)) {
    Log0(absl::StrCat(tag, "complete (", run.total_steps, "/", run.total_steps, " steps), skipped"));
    return 0;
  }
  const std::string resume = progress.checkpoint_step > 0
                                 ? absl::StrCat("resuming at step ", progress.checkpoint_step, " of ", run.total_steps)
                                 : absl::StrCat(run.total_steps, " steps");
  const std::vector<std::string> argv = TrainCommandLine(zen_binary, spec, run);
  Log0(absl::StrCat(tag, "training, ", resume, ": ", absl::StrJoin(argv, " ")));
  // A stale record of an earlier attempt must not outlive this one if the sweep itself is killed.
  ClearRunExit(run.dir);
  const int code = SpawnAndWait(argv);
  if (absl::Status written = WriteRunExit(run.dir, code); !written.ok()) LogError(std::string(written.message()));
  if (code == kRunPreemptedExit) Log0(absl::StrCat(tag, "preempted, checkpoint saved; the same command resumes it"));
  else if (code != 0) Log0(absl::StrCat(tag, "failed (exit ", code, ")"));
  return code;
}

int RunSweepLocally(const std::string& zen_binary, const SweepSpec& spec, const std::vector<SweepRun>& runs) {
  int failed = 0;
  for (const SweepRun& run : runs) {
    const int code = RunOneLocally(zen_binary, spec, run, runs.size());
    if (code != 0) ++failed;
    if (absl::Status s = WriteSweepSummary(spec, runs); !s.ok()) LogError(std::string(s.message()));
    if (SweepStopRequested()) {
      Log0("zen sweep: stopped by a signal; the same command continues the sweep");
      return code != 0 ? code : 143;
    }
  }
  Log0(absl::StrCat("zen sweep: ", runs.size() - failed, " of ", runs.size(), " runs complete; summary in ",
                    spec.output_dir, "/summary.csv and summary.md"));
  return failed == 0 ? 0 : 1;
}

}  // namespace zen
