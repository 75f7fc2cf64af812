// What a sweep knows about its runs from their folders alone: how far each got (metrics.jsonl and the
// checkpoint `latest` names), whether it is complete, how its last attempt ended, and the summary
// tables (summary.csv, summary.md) in the sweep's output_dir. Reading files only, so `--summary-only`
// on a login node and a re-run after a crash see the same thing the runs left.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "launch/sweep.h"

namespace zen {

// How far a run folder got.
struct RunProgress {
  int64_t last_step = 0;            // highest step in metrics.jsonl (0: none)
  int64_t checkpoint_step = 0;      // step of the checkpoint `latest` names (0: none)
  double final_loss = std::numeric_limits<double>::quiet_NaN();    // loss at last_step (null = not finite)
  double eval_loss = std::numeric_limits<double>::quiet_NaN();     // the last held-out score, if any
  double tokens_per_s = std::numeric_limits<double>::quiet_NaN();  // mean over the steps after the first
};

RunProgress ReadRunProgress(const std::string& run_dir);

// Complete = both the metrics and the final checkpoint reached the run's total steps. Either alone is
// not enough: metrics run ahead of the checkpoint after a crash between the two, and a resumed run
// must redo those steps.
bool IsComplete(const RunProgress& progress, int64_t total_steps);

// The exit status of a run's last attempt, kept in run_dir/sweep_status.json by the process that ran it.
absl::Status WriteRunExit(const std::string& run_dir, int exit_code);
std::optional<int> ReadRunExit(const std::string& run_dir);
void ClearRunExit(const std::string& run_dir);

// `zen train`'s exit status after it saved a checkpoint on SIGTERM/SIGUSR1 (kExitPreempted in
// trainer/preemption.h, which launch/ cannot include: it brings torch).
inline constexpr int kRunPreemptedExit = 75;

// complete | preempted | failed (exit N) | incomplete | not run
std::string RunStatus(const RunProgress& progress, int64_t total_steps, std::optional<int> last_exit);

struct SummaryRow {
  std::string run;
  std::vector<std::string> values;  // one per swept key
  RunProgress progress;
  int64_t total_steps = 0;
  std::string status;
};

SummaryRow SummarizeRun(const SweepRun& run);

// One field of a CSV line (RFC 4180): quoted when it holds a comma, quote, newline or edge space.
std::string CsvField(const std::string& text);

// Columns: run, each swept key, final_loss, eval_loss, tokens_per_s, steps, total_steps, status.
std::string SummaryCsv(const std::vector<std::string>& keys, const std::vector<SummaryRow>& rows);
std::string SummaryMarkdown(const SweepSpec& spec, const std::vector<SummaryRow>& rows);

// Reads every run folder and writes output_dir/summary.csv and summary.md (each replaced atomically).
absl::Status WriteSweepSummary(const SweepSpec& spec, const std::vector<SweepRun>& runs);

}  // namespace zen
