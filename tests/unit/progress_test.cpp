#include "trainer/progress.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

namespace zen {
namespace {

TEST(Progress, FormatsTheWholeLine) {
  ProgressStats stats;
  stats.step = 12;
  stats.total_steps = 300;
  stats.loss = 2.34561;
  stats.lr = 1.2e-4;
  stats.tokens_per_s = 5123;
  stats.eta_s = 192;
  EXPECT_EQ(FormatProgress(stats), "step 12/300 | loss 2.3456 | lr 1.20e-04 | 5.1k tok/s | ETA 3m12s");
}

TEST(Progress, UnknownEtaShowsDashes) {
  ProgressStats stats{1, 10, 1.0, 1e-3, 100, -1};
  EXPECT_EQ(FormatProgress(stats), "step 1/10 | loss 1.0000 | lr 1.00e-03 | 100 tok/s | ETA --");
}

TEST(Progress, CountsUseKMGSuffixesWithOneDecimal) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(850), "850");
  EXPECT_EQ(FormatCount(999.4), "999");
  EXPECT_EQ(FormatCount(999.6), "1.0k");
  EXPECT_EQ(FormatCount(5100), "5.1k");
  EXPECT_EQ(FormatCount(999960), "1.0M");
  EXPECT_EQ(FormatCount(1234567), "1.2M");
  EXPECT_EQ(FormatCount(3.4e9), "3.4G");
  EXPECT_EQ(FormatCount(std::nan("")), "--");
}

TEST(Progress, DurationsUseTheTwoLargestUnits) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(45), "45s");
  EXPECT_EQ(FormatDuration(59.6), "1m00s");
  EXPECT_EQ(FormatDuration(192), "3m12s");
  EXPECT_EQ(FormatDuration(3725), "1h02m");
  EXPECT_EQ(FormatDuration(187200), "2d04h");
  EXPECT_EQ(FormatDuration(-1), "--");
  EXPECT_EQ(FormatDuration(INFINITY), "--");
}

std::string Captured(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buffer[256];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) out.append(buffer, n);
  return out;
}

int Count(const std::string& s, char c) { return static_cast<int>(std::count(s.begin(), s.end(), c)); }

TEST(Progress, LogFilesGetPlainLinesEveryIntervalAndOnTheLastStep) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressLine line(5, f, /*terminal=*/false);
    for (int step = 1; step <= 12; ++step) line.Update(step, 12, 1.0, 1e-3, 1000);
  }
  const std::string out = Captured(f);
  std::fclose(f);
  EXPECT_EQ(Count(out, '\n'), 3) << out;  // steps 5, 10, 12
  EXPECT_EQ(Count(out, '\r'), 0) << out;
  EXPECT_NE(out.find("step 5/12 |"), std::string::npos) << out;
  EXPECT_NE(out.find("step 12/12 |"), std::string::npos) << out;
}

TEST(Progress, TerminalRewritesOneLineAndEndsItOnFinish) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressLine line(5, f, /*terminal=*/true);
    for (int step = 1; step <= 3; ++step) line.Update(step, 12, 1.0, 1e-3, 1000);
    line.Finish();
    line.Finish();  // idempotent
  }
  const std::string out = Captured(f);
  std::fclose(f);
  EXPECT_EQ(Count(out, '\r'), 3) << out;
  EXPECT_EQ(Count(out, '\n'), 1) << out;
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
}  // namespace zen
