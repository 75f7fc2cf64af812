#include "trainer/metrics.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, ReadText

namespace zen {
namespace {

using testing::ReadText;
using testing::ScratchDir;

std::vector<nlohmann::json> ReadLines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(ReadText(path));
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(Metrics, EachWriteIsOneFlushedJsonLine) {
  ScratchDir dir("metrics");
  auto log = MetricsLog::Open(dir / "run");
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Write({{"step", 1}, {"loss", 2.5}, {"lr", 1e-4}});
  // Readable while the log is still open: every line is flushed.
  std::vector<nlohmann::json> lines = ReadLines(dir / "run/metrics.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["step"], 1);
  EXPECT_EQ(lines[0]["loss"], 2.5);
  (*log)->Write({{"step", 2}, {"expert_load", {0.25, 0.75}}});
  lines = ReadLines(dir / "run/metrics.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["expert_load"][1], 0.75);
  EXPECT_TRUE((*log)->status().ok());
}

TEST(Metrics, ReopenedLogAppendsAsAResumedRunDoes) {
  ScratchDir dir("metrics_resume");
  {
    auto log = MetricsLog::Open(dir.path());
    ASSERT_TRUE(log.ok());
    (*log)->Write({{"step", 1}});
    (*log)->Write({{"step", 2}});
  }
  auto log = MetricsLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  (*log)->Write({{"step", 3}});
  const std::vector<nlohmann::json> lines = ReadLines(dir / "metrics.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(lines[i]["step"], i + 1);
}

TEST(Metrics, NonFiniteNumbersBecomeNullSoTheLineStaysValidJson) {
  ScratchDir dir("metrics_nan");
  auto log = MetricsLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  (*log)->Write({{"step", 1}, {"loss", std::nan("")}});
  const std::vector<nlohmann::json> lines = ReadLines(dir / "metrics.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0]["loss"].is_null());
}

TEST(Metrics, WriteJsonFileReplacesTheFileWholeAndLeavesNoTemporary) {
  ScratchDir dir("metrics_json");
  const std::string path = dir / "run.json";
  ASSERT_TRUE(WriteJsonFile(path, {{"world_size", 1}}).ok());
  ASSERT_TRUE(WriteJsonFile(path, {{"world_size", 4}, {"layout", {{"tp", 2}}}}).ok());
  const nlohmann::json got = nlohmann::json::parse(ReadText(path));
  EXPECT_EQ(got["world_size"], 4);
  EXPECT_EQ(got["layout"]["tp"], 2);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(Metrics, WriteJsonFileIntoMissingFolderIsAnError) {
  ScratchDir dir("metrics_missing");
  const absl::Status s = WriteJsonFile(dir / "no/such/run.json", {{"a", 1}});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("no/such"), std::string::npos) << s;
}

}  // namespace
}  // namespace zen
