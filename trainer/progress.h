// The training progress line: "step 12/300 | loss 2.3456 | lr 1.20e-04 | 5.1k tok/s | ETA 3m12s".
// On a terminal one line is rewritten in place; in a log file (SLURM, redirected stderr) plain lines are
// printed every `interval` steps, so the log stays readable and small.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace zen {

// 850 -> "850", 5100 -> "5.1k", 1234567 -> "1.2M", 3.4e9 -> "3.4G" (one decimal from 1000 on).
std::string FormatCount(double count);
// 45 -> "45s", 192 -> "3m12s", 3725 -> "1h02m", 187200 -> "2d04h"; negative or non-finite -> "--".
std::string FormatDuration(double seconds);

struct ProgressStats {
  int64_t step = 0;            // optimizer steps completed (1-based for display)
  int64_t total_steps = 0;
  double loss = 0;
  double lr = 0;
  double tokens_per_s = 0;
  double eta_s = -1;           // < 0 = not known yet
};
std::string FormatProgress(const ProgressStats& stats);

class ProgressLine {
 public:
  // `interval`: steps between plain lines when `out` is not a terminal (the last step always prints).
  explicit ProgressLine(int64_t interval, std::FILE* out = stderr);
  ProgressLine(int64_t interval, std::FILE* out, bool terminal);  // tests fix the mode
  ~ProgressLine();  // ends a rewritten line, so what follows starts on its own

  // Reports a completed step. The ETA is the mean wall time per step since the first Update (so a
  // resumed run measures only its own steps) times the steps left.
  void Update(int64_t step, int64_t total_steps, double loss, double lr, double tokens_per_s);
  // Ends the rewritten line before other output (a log message, the end of training).
  void Finish();

 private:
  using Clock = std::chrono::steady_clock;

  int64_t interval_;
  std::FILE* out_;
  bool terminal_;
  bool line_open_ = false;  // a \r line is on screen without its newline
  int64_t first_step_ = -1;
  Clock::time_point first_time_;
};

}  // namespace zen
