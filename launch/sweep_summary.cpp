#include "launch/sweep_summary.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace zen {
namespace fs = std::filesystem;
namespace {

constexpr char kExitFile[] = "sweep_status.json";

// The step of the checkpoint `latest` names ("step-00000042" -> 42), when its manifest is there.
int64_t CheckpointStep(const std::string& run_dir) {
  std::ifstream latest(run_dir + "/checkpoints/latest");
  std::string name;
  int64_t step = 0;
  if (!std::getline(latest, name) || name.rfind("step-", 0) != 0) return 0;
  if (!absl::SimpleAtoi(name.substr(5), &step)) return 0;
  return fs::exists(run_dir + "/checkpoints/" + name + "/manifest.pb") ? step : 0;
}

double NumberOr(const nlohmann::json& record, const char* key, double fallback) {
  auto it = record.find(key);
  return it != record.end() && it->is_number() ? it->get<double>() : fallback;
}

// Writes `text` to path.tmp.<pid> and renames it over `path`: readers never see half a summary, and two
// writers (SLURM tasks) never interleave.
absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return absl::InternalError(absl::StrCat(tmp, ": cannot write"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return absl::InternalError(absl::StrCat(path, ": cannot replace"));
  return absl::OkStatus();
}

std::string Number(double value, const char* format) {
  return std::isfinite(value) ? absl::StrFormat(format, value) : std::string();
}

// The cells of a row after the swept values, in SummaryCsv's column order.
std::vector<std::string> MeasuredCells(const SummaryRow& row) {
  return {Number(row.progress.final_loss, "%.6f"), Number(row.progress.eval_loss, "%.6f"),
          Number(row.progress.tokens_per_s, "%.1f"), absl::StrCat(row.progress.last_step),
          absl::StrCat(row.total_steps), row.status};
}

const std::vector<std::string>& MeasuredColumns() {
  static const std::vector<std::string> columns = {"final_loss", "eval_loss", "tokens_per_s",
                                                   "steps",      "total_steps", "status"};
  return columns;
}

std::string MarkdownCell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string MarkdownLine(const std::vector<std::string>& cells) {
  std::vector<std::string> escaped;
  for (const std::string& c : cells) escaped.push_back(MarkdownCell(c));
  return absl::StrCat("| ", absl::StrJoin(escaped, " | "), " |\n");
}

}  // namespace

RunProgress ReadRunProgress(const std::string& run_dir) {
  RunProgress progress;
  progress.checkpoint_step = CheckpointStep(run_dir);
  // By step: a line a crash left behind and a resumed run rewrote counts once, as rewritten.
  std::map<int64_t, nlohmann::json> by_step;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object() || !record["step"].is_number_integer()) continue;
    const int64_t step = record["step"].get<int64_t>();
    by_step[step] = std::move(record);
  }
  if (by_step.empty()) return progress;
  progress.last_step = by_step.rbegin()->first;
  progress.final_loss = NumberOr(by_step.rbegin()->second, "loss", progress.final_loss);
  double rate_sum = 0;
  int64_t rates = 0;
  for (const auto& [step, record] : by_step) {
    if (record.contains("eval_loss")) progress.eval_loss = NumberOr(record, "eval_loss", progress.eval_loss);
    // The first step pays for allocation and warm-up; it is left out unless it is the only one.
    if (step == by_step.begin()->first && by_step.size() > 1) continue;
    const double rate = NumberOr(record, "tokens_per_s", NAN);
    if (std::isfinite(rate)) rate_sum += rate, ++rates;
  }
  if (rates > 0) progress.tokens_per_s = rate_sum / static_cast<double>(rates);
  return progress;
}

bool IsComplete(const RunProgress& progress, int64_t total_steps) {
  return total_steps > 0 && progress.last_step == total_steps && progress.checkpoint_step == total_steps;
}

absl::Status WriteRunExit(const std::string& run_dir, int exit_code) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  const nlohmann::json status = {{"exit_code", exit_code}};
  return WriteAtomically(run_dir + "/" + kExitFile, status.dump() + "\n");
}

std::optional<int> ReadRunExit(const std::string& run_dir) {
  std::ifstream in(run_dir + "/" + kExitFile);
  if (!in) return std::nullopt;
  const nlohmann::json status = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (status.is_discarded() || !status.contains("exit_code") || !status["exit_code"].is_number_integer()) {
    return std::nullopt;
  }
  return status["exit_code"].get<int>();
}

void ClearRunExit(const std::string& run_dir) {
  std::error_code ec;
  fs::remove(run_dir + "/" + kExitFile, ec);
}

std::string RunStatus(const RunProgress& progress, int64_t total_steps, std::optional<int> last_exit) {
  if (IsComplete(progress, total_steps)) return "complete";
  if (last_exit == kRunPreemptedExit) return "preempted";
  if (last_exit.has_value() && *last_exit != 0) return absl::StrCat("failed (exit ", *last_exit, ")");
  if (progress.last_step > 0 || progress.checkpoint_step > 0) return "incomplete";
  return "not run";
}

SummaryRow SummarizeRun(const SweepRun& run) {
  SummaryRow row;
  row.run = run.name;
  for (const auto& kv : run.values) row.values.push_back(kv.second);
  row.progress = ReadRunProgress(run.dir);
  row.total_steps = run.total_steps;
  row.status = RunStatus(row.progress, run.total_steps, ReadRunExit(run.dir));
  return row;
}

std::string CsvField(const std::string& text) {
  const bool quote = text.find_first_of(",\"\n\r") != std::string::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string SummaryCsv(const std::vector<std::string>& keys, const std::vector<SummaryRow>& rows) {
  std::vector<std::string> header = {"run"};
  header.insert(header.end(), keys.begin(), keys.end());
  header.insert(header.end(), MeasuredColumns().begin(), MeasuredColumns().end());
  auto line = [](const std::vector<std::string>& cells) {
    std::vector<std::string> fields;
    for (const std::string& c : cells) fields.push_back(CsvField(c));
    return absl::StrCat(absl::StrJoin(fields, ","), "\n");
  };
  std::string csv = line(header);
  for (const SummaryRow& row : rows) {
    std::vector<std::string> cells = {row.run};
    cells.insert(cells.end(), row.values.begin(), row.values.end());
    const std::vector<std::string> measured = MeasuredCells(row);
    cells.insert(cells.end(), measured.begin(), measured.end());
    csv += line(cells);
  }
  return csv;
}

std::string SummaryMarkdown(const SweepSpec& spec, const std::vector<SummaryRow>& rows) {
  std::vector<std::string> header = {"run"};
  for (const std::string& key : SweptKeys(spec)) header.push_back(key);
  header.insert(header.end(), MeasuredColumns().begin(), MeasuredColumns().end());
  std::string md = absl::StrCat("# Sweep ", spec.path, "\n\nRecipe `", spec.recipe, "`, ", rows.size(),
                                " runs. final_loss is the training loss at the run's last step; eval_loss the last "
                                "held-out score (when data.eval_fraction and eval.interval are set); tokens_per_s "
                                "the mean over the steps after the first.\n\n");
  md += MarkdownLine(header);
  md += MarkdownLine(std::vector<std::string>(header.size(), "---"));
  const SummaryRow* best = nullptr;
  for (const SummaryRow& row : rows) {
    std::vector<std::string> cells = {row.run};
    cells.insert(cells.end(), row.values.begin(), row.values.end());
    const std::vector<std::string> measured = MeasuredCells(row);
    cells.insert(cells.end(), measured.begin(), measured.end());
    md += MarkdownLine(cells);
    const bool done = row.status == "complete" && std::isfinite(row.progress.final_loss);
    if (done && (best == nullptr || row.progress.final_loss < best->progress.final_loss)) best = &row;
  }
  if (best != nullptr) {
    md += absl::StrFormat("\nLowest final_loss among complete runs: %s (%.6f).\n", best->run, best->progress.final_loss);
  }
  return md;
}

absl::Status WriteSweepSummary(const SweepSpec& spec, const std::vector<SweepRun>& runs) {
  std::vector<SummaryRow> rows;
  for (const SweepRun& run : runs) rows.push_back(SummarizeRun(run));
  std::error_code ec;
  fs::create_directories(spec.output_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(spec.output_dir, ": cannot create: ", ec.message()));
  ZEN_RETURN_IF_ERROR(WriteAtomically(spec.output_dir + "/summary.csv", SummaryCsv(SweptKeys(spec), rows)));
  return WriteAtomically(spec.output_dir + "/summary.md", SummaryMarkdown(spec, rows));
}

}  // namespace zen
