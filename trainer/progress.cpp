#include "trainer/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace zen {

std::string FormatCount(double count) {
  if (!std::isfinite(count)) return "--";
  if (std::fabs(count) < 999.5) return absl::StrFormat("%.0f", count);
  static const char* kSuffixes[] = {"k", "M", "G", "T"};
  int i = 0;
  count /= 1000;
  // Rounding 999.96k to one decimal would print "1000.0k": move to the next suffix instead.
  while (std::fabs(count) >= 999.95 && i < 3) {
    count /= 1000;
    ++i;
  }
  return absl::StrFormat("%.1f%s", count, kSuffixes[i]);
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  const int64_t s = std::llround(seconds);
  if (s < 60) return absl::StrFormat("%ds", s);
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

std::string FormatProgress(const ProgressStats& stats) {
  return absl::StrFormat("step %d/%d | loss %.4f | lr %.2e | %s tok/s | ETA %s", stats.step,
                         stats.total_steps, stats.loss, stats.lr, FormatCount(stats.tokens_per_s),
                         FormatDuration(stats.eta_s));
}

ProgressLine::ProgressLine(int64_t interval, std::FILE* out)
    : ProgressLine(interval, out, isatty(fileno(out)) != 0) {}

ProgressLine::ProgressLine(int64_t interval, std::FILE* out, bool terminal)
    : interval_(std::max<int64_t>(interval, 1)), out_(out), terminal_(terminal) {}

ProgressLine::~ProgressLine() { Finish(); }

void ProgressLine::Update(int64_t step, int64_t total_steps, double loss, double lr,
                          double tokens_per_s) {
  const Clock::time_point now = Clock::now();
  if (first_step_ < 0) {
    first_step_ = step;
    first_time_ = now;
  }
  ProgressStats stats{step, total_steps, loss, lr, tokens_per_s, -1};
  if (step > first_step_) {
    const double per_step =
        std::chrono::duration<double>(now - first_time_).count() / static_cast<double>(step - first_step_);
    stats.eta_s = per_step * static_cast<double>(std::max<int64_t>(total_steps - step, 0));
  }
  const std::string line = FormatProgress(stats);
  if (terminal_) {
    std::fprintf(out_, "\r%s\033[K", line.c_str());  // \033[K clears what a longer line left
    line_open_ = true;
  } else if (step % interval_ == 0 || step >= total_steps) {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressLine::Finish() {
  if (!line_open_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  line_open_ = false;
}

}  // namespace zen
