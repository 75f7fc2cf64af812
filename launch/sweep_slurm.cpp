#include "launch/sweep_slurm.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "launch/sweep_runner.h"

namespace zen {
namespace fs = std::filesystem;
namespace {

// The array task's shell after starting `zen sweep --run-index` in the background. SLURM's warning (SIGUSR1
// from --signal=B:USR1 before the time limit, SIGTERM on preemption) comes to this shell; zen sweep passes
// it to the run, which saves a checkpoint and exits 75 (trainer/preemption.h), and the task goes back to
// the queue to resume it. The same protocol as `zen submit`'s job script.
constexpr char kForwardAndRequeue[] = R"(pid=$!
forward() { signalled=1; kill -USR1 "$pid" 2>/dev/null; }
trap forward USR1 TERM
signalled=1
while [ "$signalled" = 1 ]; do
  signalled=0
  wait "$pid"
  status=$?
done
if [ "$status" = 75 ]; then
  echo "zen sweep: task ${SLURM_ARRAY_TASK_ID} preempted, checkpoint saved; requeued to resume"
  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
fi
exit "$status"
)";

// Single-quotes a word for bash.
std::string ShellQuoted(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Where the sweep's SLURM scripts and job logs go: output_dir/slurm, absolute so that the #SBATCH
// --output paths do not depend on the node's working directory.
std::string SlurmDir(const SweepSlurmJob& job, const SweepSpec& spec) {
  const fs::path out(spec.output_dir);
  return ((out.is_absolute() ? out : fs::path(job.workdir) / out) / "slurm").lexically_normal().string();
}

// `zen sweep SWEEP [OVERRIDE...]` as the scripts run it, every word quoted.
std::string SweepCommandLine(const SweepSlurmJob& job) {
  std::string command = absl::StrCat(ShellQuoted(job.zen_binary), " sweep ", ShellQuoted(job.sweep_path));
  for (const std::string& o : job.overrides) absl::StrAppend(&command, " ", ShellQuoted(o));
  return command;
}

std::string JobName(const SweepSpec& spec) {
  return absl::StrCat("zen-sweep-", fs::path(spec.path).stem().string());
}

std::string Header(const std::string& job_name, const std::string& output, const SweepSlurmJob& job) {
  return absl::StrCat("#SBATCH --job-name=", job_name, "\n#SBATCH --output=", output, "\n#SBATCH --chdir=",
                      job.workdir, "\n");
}

absl::Status WriteScript(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) return absl::InternalError(absl::StrCat(path, ": cannot write"));
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  return absl::OkStatus();
}

// `sbatch --parsable ARGS...` prints "jobid" or "jobid;cluster".
absl::StatusOr<std::string> Sbatch(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  argv.insert(argv.end(), args.begin(), args.end());
  int code = 0;
  ZEN_ASSIGN_OR_RETURN(std::string out, SpawnCapturingStdout(argv, &code));
  if (code == 127) return absl::UnavailableError("sbatch: cannot run it (is SLURM installed on this node?)");
  if (code != 0) return absl::InternalError(absl::StrCat("sbatch ", args.back(), " failed (exit ", code, ")"));
  const std::string id(absl::StripAsciiWhitespace(std::vector<std::string>(absl::StrSplit(out, ';')).front()));
  if (id.empty()) return absl::InternalError(absl::StrCat("sbatch ", args.back(), " printed no job id"));
  return id;
}

}  // namespace

std::string RenderSweepArrayScript(const SweepSlurmJob& job, const SweepSpec& spec, const std::vector<SweepRun>& runs) {
  std::string script = absl::StrCat("#!/bin/bash\n# ", runs.size(), " runs of the sweep ", spec.path,
                                    ", one array task each (written by `zen sweep --slurm`).\n");
  script += Header(JobName(spec), SlurmDir(job, spec) + "/run-%a.out", job);
  script += absl::StrCat("#SBATCH --array=0-", runs.size() - 1, "\n");
  // A requeued task (preemption, node failure, the time limit) continues its run from the latest checkpoint.
  script += "#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --signal=B:USR1@120\n";
  for (const std::string& option : job.sbatch_options) script += absl::StrCat("#SBATCH ", option, "\n");
  script += "\n# array task -> run folder below the sweep's output_dir\n";
  for (const SweepRun& run : runs) script += absl::StrCat("#   ", run.index, ": ", run.name, "\n");
  script += absl::StrCat("\ncd ", ShellQuoted(job.workdir), "\n", SweepCommandLine(job),
                         " --run-index \"$SLURM_ARRAY_TASK_ID\" &\n", kForwardAndRequeue);
  return script;
}

std::string RenderSweepSummaryScript(const SweepSlurmJob& job, const SweepSpec& spec) {
  std::string script = absl::StrCat("#!/bin/bash\n# The summary of the sweep ", spec.path,
                                    " after all its array tasks ended (written by `zen sweep --slurm`).\n");
  script += Header(JobName(spec) + "-summary", SlurmDir(job, spec) + "/summary.out", job);
  script += "#SBATCH --ntasks=1\n";
  script += absl::StrCat("\ncd ", ShellQuoted(job.workdir), "\nexec ", SweepCommandLine(job), " --summary-only\n");
  return script;
}

absl::StatusOr<std::vector<std::string>> SubmitSweep(const SweepSlurmJob& job, const SweepSpec& spec,
                                                     const std::vector<SweepRun>& runs) {
  const std::string dir = SlurmDir(job, spec);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create: ", ec.message()));
  const std::string array_path = dir + "/sweep-array.sh", summary_path = dir + "/sweep-summary.sh";
  ZEN_RETURN_IF_ERROR(WriteScript(array_path, RenderSweepArrayScript(job, spec, runs)));
  ZEN_RETURN_IF_ERROR(WriteScript(summary_path, RenderSweepSummaryScript(job, spec)));
  ZEN_ASSIGN_OR_RETURN(std::string array_id, Sbatch({array_path}));
  // afterany: the summary job runs whether the tasks succeeded or failed, so failures get their rows.
  ZEN_ASSIGN_OR_RETURN(std::string summary_id, Sbatch({"--dependency=afterany:" + array_id, summary_path}));
  return std::vector<std::string>{array_id, summary_id};
}

}  // namespace zen
