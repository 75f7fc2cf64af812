#include "launch/job_script.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "launch/sweep_runner.h"  // SpawnCapturingStdout

namespace zen {
namespace fs = std::filesystem;
namespace {

const char kTrainTemplate[] =
#include "launch/slurm/train.sbatch.in"
    ;

absl::StatusOr<int64_t> PositiveInt(const std::string& flag, const std::string& value) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(value, &n) || n <= 0) {
    return BadInput(absl::StrCat(flag, ": expected a positive integer, got \"", value, "\""));
  }
  return n;
}

// Names that go on #SBATCH lines as they are: no spaces, quotes or newlines.
absl::Status CheckName(const std::string& flag, const std::string& value) {
  const bool ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+';
  });
  if (ok) return absl::OkStatus();
  return BadInput(absl::StrCat(flag, ": \"", value, "\" may hold only letters, digits and . _ - +"));
}

absl::Status CheckPath(const std::string& what, const std::string& path) {
  if (std::none_of(path.begin(), path.end(), [](char c) { return absl::ascii_isspace(c) || c == '"'; })) {
    return absl::OkStatus();
  }
  return BadInput(absl::StrCat(what, ": \"", path, "\" holds a space or quote, which an #SBATCH line cannot"));
}

absl::Status ApplyFlag(const std::string& flag, const std::string& value, JobSpec& spec) {
  if (flag == "--nodes") {
    ZEN_ASSIGN_OR_RETURN(spec.nodes, PositiveInt(flag, value));
  } else if (flag == "--tasks-per-node") {
    ZEN_ASSIGN_OR_RETURN(spec.tasks_per_node, PositiveInt(flag, value));
  } else if (flag == "--gpus-per-task") {
    ZEN_ASSIGN_OR_RETURN(spec.gpus_per_task, PositiveInt(flag, value));
  } else if (flag == "--cpus-per-task") {
    ZEN_ASSIGN_OR_RETURN(spec.cpus_per_task, PositiveInt(flag, value));
  } else if (flag == "--signal-grace") {
    if (!absl::SimpleAtoi(value, &spec.signal_grace_s) || spec.signal_grace_s < 0 || spec.signal_grace_s > 65535) {
      return BadInput(absl::StrCat(flag, ": expected seconds from 0 to 65535, got \"", value, "\""));
    }
  } else if (flag == "--time") {
    ZEN_RETURN_IF_ERROR(SlurmTimeSeconds(value).status());
    spec.time = value;
  } else if (flag == "--partition") {
    ZEN_RETURN_IF_ERROR(CheckName(flag, value));
    spec.partition = value;
  } else if (flag == "--job-name") {
    ZEN_RETURN_IF_ERROR(CheckName(flag, value));
    spec.job_name = value;
  } else if (flag == "--mpi") {
    if (value != "pmix" && value != "mpirun") {
      return BadInput(absl::StrCat(flag, ": expected pmix (srun --mpi=pmix) or mpirun, got \"", value, "\""));
    }
    spec.mpi = value;
  } else if (flag == "--zen") {
    if (access(value.c_str(), X_OK) != 0) return BadInput(absl::StrCat(flag, ": \"", value, "\" is not an executable"));
    spec.zen = fs::absolute(value).lexically_normal().string();
  } else if (flag == "--requeue") {
    spec.requeue = true;
  }
  return absl::OkStatus();
}

// The overrides as the job passes them, plus train.threads from --cpus-per-task unless one is given, each
// after a space (none: empty, and the training line ends with the recipe).
std::string OverrideWords(const JobSpec& spec) {
  std::vector<std::string> words;
  bool threads_given = false;
  for (const std::string& o : spec.overrides) {
    words.push_back(ShellWord(o));
    threads_given |= absl::StartsWith(o, "train.threads=");
  }
  if (spec.cpus_per_task > 0 && !threads_given) words.push_back(absl::StrCat("train.threads=", spec.cpus_per_task));
  return words.empty() ? "" : absl::StrCat(" ", absl::StrJoin(words, " "));
}

// What starts one zen per task: srun with PMIx (SLURM's own launcher), or mpirun, which finds the
// allocation itself and places tasks_per_node ranks on each node.
std::string Launcher(const JobSpec& spec) {
  if (spec.mpi == "mpirun") {
    return absl::StrCat("mpirun -np ", spec.nodes * spec.tasks_per_node, " --map-by ppr:", spec.tasks_per_node,
                        ":node --bind-to none");
  }
  // Since SLURM 22.05 srun no longer takes --cpus-per-task from the allocation.
  return spec.cpus_per_task > 0 ? absl::StrCat("srun --mpi=pmix --cpus-per-task=", spec.cpus_per_task)
                                : "srun --mpi=pmix";
}

std::string IfSet(int64_t n) { return n > 0 ? absl::StrCat(n) : ""; }

absl::Status WriteScript(const std::string& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat(fs::path(path).parent_path().string(), ": cannot create: ", ec.message()));
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) return absl::InternalError(absl::StrCat(path, ": cannot write"));
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add, ec);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> SlurmTimeSeconds(const std::string& time) {
  const auto bad = [&] {
    return BadInput(absl::StrCat("--time: \"", time, "\" is not a SLURM time limit (M, M:S, H:M:S, D-H, D-H:M, "
                                 "D-H:M:S or UNLIMITED)"));
  };
  if (time == "UNLIMITED" || time == "INFINITE") return std::numeric_limits<int64_t>::max();
  const size_t dash = time.find('-');
  int64_t days = 0;
  if (dash != std::string::npos && !absl::SimpleAtoi(time.substr(0, dash), &days)) return bad();
  std::vector<int64_t> n;  // the fields after the day, separated by ':'
  for (absl::string_view field : absl::StrSplit(dash == std::string::npos ? time : time.substr(dash + 1), ':')) {
    int64_t v = -1;
    if (field.empty() || !absl::SimpleAtoi(field, &v) || v < 0) return bad();
    n.push_back(v);
  }
  const size_t fields = n.size();
  if (fields > 3 || days < 0) return bad();
  n.resize(3, 0);
  // With a day the fields are H[:M[:S]]; without, M, M:S or H:M:S.
  int64_t h = n[0], m = n[1], s = n[2];
  if (dash == std::string::npos && fields < 3) std::tie(h, m, s) = std::make_tuple(0, n[0], n[1]);
  return ((days * 24 + h) * 60 + m) * 60 + s;
}

absl::Status ApplySubmitFlags(const std::vector<std::pair<std::string, std::string>>& flags, JobSpec& spec) {
  for (const auto& [flag, value] : flags) ZEN_RETURN_IF_ERROR(ApplyFlag(flag, value, spec));
  if (spec.nodes == 0) return BadInput("--nodes: required (how many nodes the job takes)");
  if (spec.tasks_per_node == 0) return BadInput("--tasks-per-node: required (ranks on each node)");
  if (!spec.time.empty()) {
    ZEN_ASSIGN_OR_RETURN(const int64_t limit, SlurmTimeSeconds(spec.time));
    if (spec.signal_grace_s >= limit) {
      return BadInput(absl::StrCat("--signal-grace: ", spec.signal_grace_s, " s is not shorter than --time ",
                                   spec.time, " (", limit, " s)"));
    }
  }
  ZEN_RETURN_IF_ERROR(CheckName("--job-name", spec.job_name));  // also the default, the recipe's file name
  ZEN_RETURN_IF_ERROR(CheckPath("the working directory", spec.workdir));
  return CheckPath("output_dir", spec.output_dir);
}

std::string JobScriptPath(const JobSpec& spec) { return spec.output_dir + "/slurm/train.sbatch"; }

std::string JobLogPath(const JobSpec& spec) { return spec.output_dir + "/slurm/train-%j.out"; }

absl::StatusOr<std::string> FillTemplate(const std::string& text, const std::map<std::string, std::string>& values) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::string filled;
    bool keep = true;
    size_t at = 0;
    for (size_t open; (open = line.find("{{", at)) != absl::string_view::npos;) {
      const size_t close = line.find("}}", open);
      if (close == absl::string_view::npos) break;
      const bool optional = line[open + 2] == '?';
      const size_t name_at = open + (optional ? 3 : 2);
      const std::string name(line.substr(name_at, close - name_at));
      const auto value = values.find(name);
      if (value == values.end()) return absl::InternalError(absl::StrCat("job script template: no value for {{", name, "}}"));
      keep &= !(optional && value->second.empty());
      absl::StrAppend(&filled, line.substr(at, open - at), value->second);
      at = close + 2;
    }
    if (keep) absl::StrAppend(&out, filled, line.substr(at), "\n");
  }
  out.pop_back();  // StrSplit gave one line more than the text's newlines
  return out;
}

absl::StatusOr<std::string> RenderJobScript(const JobSpec& spec) {
  const std::map<std::string, std::string> values = {
      {"recipe", ShellWord(spec.recipe)}, {"overrides", OverrideWords(spec)}, {"zen", ShellWord(spec.zen)},
      {"launcher", Launcher(spec)}, {"script", JobScriptPath(spec)}, {"log", JobLogPath(spec)},
      {"workdir", spec.workdir}, {"job_name", spec.job_name}, {"nodes", absl::StrCat(spec.nodes)},
      {"tasks_per_node", absl::StrCat(spec.tasks_per_node)}, {"cpus_per_task", IfSet(spec.cpus_per_task)},
      {"gpus_per_task", IfSet(spec.gpus_per_task)}, {"threads", IfSet(spec.cpus_per_task)},
      {"time", spec.time}, {"partition", spec.partition}, {"signal_grace", absl::StrCat(spec.signal_grace_s)},
      {"requeue", spec.requeue ? "--requeue" : "--no-requeue"},
      {"requeue_after_preemption", spec.requeue ? "yes" : "no"}};
  return FillTemplate(kTrainTemplate, values);
}

absl::StatusOr<std::string> SubmitJob(const JobSpec& spec) {
  ZEN_ASSIGN_OR_RETURN(const std::string script, RenderJobScript(spec));
  const std::string path = JobScriptPath(spec);
  ZEN_RETURN_IF_ERROR(WriteScript(path, script));
  // sbatch's own messages (a refused job) go to our stderr; its stdout is the id.
  int code = 0;
  ZEN_ASSIGN_OR_RETURN(const std::string out, SpawnCapturingStdout({"sbatch", "--parsable", path}, &code));
  if (code == 127) return absl::UnavailableError("sbatch: not found (is SLURM installed on this node?)");
  if (code != 0) return absl::InternalError(absl::StrCat("sbatch ", path, " failed (exit ", code, ")"));
  // --parsable prints "jobid" or "jobid;cluster".
  const std::vector<std::string> fields = absl::StrSplit(out, ';');
  const std::string id(absl::StripAsciiWhitespace(fields.front()));
  if (id.empty()) return absl::InternalError(absl::StrCat("sbatch ", path, " printed no job id"));
  return id;
}

std::string ShellWord(const std::string& word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return absl::ascii_isalnum(c) || std::string("_./=:,+@%-").find(c) != std::string::npos;
  });
  if (safe) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace zen
