// TensorBoard event files, checked by the tensorboard Python package reading them back.
#include "trainer/tensorboard.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, ReadText

namespace zen {
namespace {

using testing::ScratchDir;

uint32_t Crc(const std::string& s) { return Crc32c(s.data(), s.size()); }

// RFC 3720 (iSCSI) appendix B.4 and the usual check value.
TEST(TensorBoard, Crc32cMatchesCastagnoliCheckValues) {
  EXPECT_EQ(Crc("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc(""), 0u);
}

TEST(TensorBoard, MaskedCrcRotatesAndOffsets) {
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(MaskedCrc32c("123456789", 9), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(TensorBoard, RecordFramesLengthCrcDataCrc) {
  const std::string record = FrameRecord("abc");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(record.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(record.substr(12, 3), "abc");
  const uint32_t data_crc = MaskedCrc32c("abc", 3);
  EXPECT_EQ(record.substr(15), std::string(reinterpret_cast<const char*>(&data_crc), 4));  // little-endian host
}

// Loads the run the way `tensorboard --logdir` does and prints what it found, as JSON.
constexpr const char* kReader = R"PY(
import json, sys
from tensorboard.backend.event_processing import event_accumulator, event_file_loader
acc = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
acc.Reload()
out = {"scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}}
first = next(iter(event_file_loader.RawEventFileLoader(sys.argv[2]).Load()))
from tensorboard.compat.proto import event_pb2
out["file_version"] = event_pb2.Event.FromString(first).file_version
print("RESULT " + json.dumps(out))
)PY";

TEST(TensorBoard, TensorBoardPackageReadsBackTagsStepsAndValues) {
  ScratchDir dir("tensorboard");
  const std::string logdir = dir / "tb";
  std::string path;
  {
    auto writer = TensorBoardWriter::Open(logdir);
    ASSERT_TRUE(writer.ok()) << writer.status();
    path = (*writer)->path();
    for (int step = 1; step <= 3; ++step) {
      (*writer)->AddScalar("train/loss", step, 4.0 - 0.5 * step);
      (*writer)->AddScalar("train/lr", step, 1e-4 * step);
    }
    ASSERT_TRUE((*writer)->Flush().ok());
  }
  EXPECT_EQ(std::filesystem::path(path).parent_path(), std::filesystem::path(logdir));
  EXPECT_EQ(std::filesystem::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u) << path;

  testing::PythonRun run = testing::RunPython(dir.path(), kReader, {logdir, path});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const size_t at = run.output.find("RESULT ");
  ASSERT_NE(at, std::string::npos) << run.output;
  const nlohmann::json got = nlohmann::json::parse(run.output.substr(at + 7));
  EXPECT_EQ(got["file_version"], "brain.Event:2");
  const auto& loss = got["scalars"]["train/loss"];
  const auto& lr = got["scalars"]["train/lr"];
  ASSERT_EQ(loss.size(), 3u) << got.dump();
  ASSERT_EQ(lr.size(), 3u) << got.dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(loss[i][0].get<int64_t>(), i + 1);
    EXPECT_FLOAT_EQ(loss[i][1].get<float>(), static_cast<float>(4.0 - 0.5 * (i + 1)));
    EXPECT_EQ(lr[i][0].get<int64_t>(), i + 1);
    EXPECT_FLOAT_EQ(lr[i][1].get<float>(), static_cast<float>(1e-4 * (i + 1)));
  }
}

TEST(TensorBoard, OpenFailsWhenTheDirectoryCannotBeMade) {
  ScratchDir dir("tensorboard_bad");
  testing::WriteText(dir / "file", "not a directory");
  EXPECT_FALSE(TensorBoardWriter::Open(dir / "file/tb").ok());
}

}  // namespace
}  // namespace zen
