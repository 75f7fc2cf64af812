// The safetensors reader and writer: round trips, bad files, and agreement with the Python library.
#include <cstdint>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "checkpoints/safetensors.h"
#include "core/status.h"
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, WriteText

namespace zen {
namespace {

using testing::ScratchDir;

// A file made of an 8-byte little-endian length, `header` and `data`, as the format lays it out.
void WriteRaw(const std::string& path, const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  testing::WriteText(path, bytes + header + data);
}

void ExpectBadInputNaming(const absl::Status& status, const std::string& path, const std::string& what) {
  EXPECT_TRUE(IsBadInput(status)) << status;
  EXPECT_NE(std::string(status.message()).find(path), std::string::npos) << status;
  EXPECT_NE(std::string(status.message()).find(what), std::string::npos) << status;
}

class SafetensorsDtypes : public ::testing::TestWithParam<torch::ScalarType> {};

TEST_P(SafetensorsDtypes, RoundTripKeepsValuesShapeAndDtype) {
  ScratchDir dir("safetensors_dtype");
  torch::manual_seed(0);
  auto original = (torch::randn({3, 5}) * 50).to(GetParam());
  auto scalar = torch::ones({}, GetParam());
  auto empty = torch::empty({0, 4}, GetParam());
  const std::string path = dir / "t.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"a", original}, {"s", scalar}, {"e", empty}}).ok());
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ(read->at("a").scalar_type(), GetParam());
  EXPECT_TRUE(torch::equal(read->at("a"), original));
  EXPECT_TRUE(torch::equal(read->at("s"), scalar));
  EXPECT_EQ(read->at("e").sizes(), empty.sizes());
}

INSTANTIATE_TEST_SUITE_P(Safetensors, SafetensorsDtypes,
                         ::testing::Values(torch::kFloat64, torch::kFloat32, torch::kFloat16,
                                           torch::kBFloat16, torch::kInt64, torch::kInt32, torch::kInt16,
                                           torch::kInt8, torch::kUInt8, torch::kBool),
                         [](const auto& info) { return std::string(c10::toString(info.param)); });

TEST(Safetensors, KeepsMetadataAndNonContiguousInput) {
  ScratchDir dir("safetensors_meta");
  auto t = torch::arange(12, torch::kFloat32).view({3, 4}).t();  // (4, 3), not contiguous
  const std::string path = dir / "m.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"t", t}}, {{"format", "pt"}, {"step", "7"}}).ok());
  auto read = ReadSafetensorsFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(torch::equal(read->tensors.at("t"), t));
  EXPECT_EQ(read->metadata.at("format"), "pt");
  EXPECT_EQ(read->metadata.at("step"), "7");
}

TEST(Safetensors, TensorsOutliveTheirFilesMapping) {
  ScratchDir dir("safetensors_life");
  const std::string path = dir / "l.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"x", torch::full({1000}, 2.5)}}).ok());
  torch::Tensor x;
  {
    auto read = ReadSafetensors(path);
    ASSERT_TRUE(read.ok());
    x = read->at("x");
  }
  std::filesystem::remove(path);
  x.add_(1.0);  // copy-on-write: allowed, and the file is not touched
  EXPECT_EQ(x.sum().item<double>(), 3500.0);
}

TEST(Safetensors, TruncatedFileIsBadInputNamingIt) {
  ScratchDir dir("safetensors_trunc");
  const std::string path = dir / "cut.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"x", torch::ones({64})}}).ok());
  const std::string bytes = testing::ReadText(path);
  testing::WriteText(path, bytes.substr(0, bytes.size() - 10));  // the data is short
  ExpectBadInputNaming(ReadSafetensors(path).status(), path, "data_offsets");
  testing::WriteText(path, bytes.substr(0, 20));  // the header is short
  ExpectBadInputNaming(ReadSafetensors(path).status(), path, "truncated");
  testing::WriteText(path, bytes.substr(0, 5));  // not even the length
  ExpectBadInputNaming(ReadSafetensors(path).status(), path, "truncated");
}

TEST(Safetensors, BadHeaderIsBadInput) {
  ScratchDir dir("safetensors_header");
  const std::string path = dir / "bad.safetensors";
  WriteRaw(path, "{not json", "");
  ExpectBadInputNaming(ReadSafetensors(path).status(), path, "bad header");
  WriteRaw(path, R"({"x": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}})", std::string(4, '\0'));
  ExpectBadInputNaming(ReadSafetensors(path).status(), path, "dtype");
  WriteRaw(path, R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", std::string(4, '\0'));
  ExpectBadInputNaming(ReadSafetensors(path).status(), path, "data_offsets");
  WriteRaw(path, R"({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  ExpectBadInputNaming(ReadSafetensors(path).status(), path, "shape");
}

TEST(Safetensors, UnalignedDataIsReadCorrectly) {
  ScratchDir dir("safetensors_align");
  const std::string path = dir / "odd.safetensors";
  // A 1-byte tensor first puts the F32 tensor at an odd address.
  const std::string header = R"({"b": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, )"
                             R"("f": {"dtype": "F32", "shape": [2], "data_offsets": [1, 9]}})";
  float values[2] = {1.5f, -3.25f};
  WriteRaw(path, header, std::string("\x07", 1) + std::string(reinterpret_cast<char*>(values), 8));
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->at("b").item<int64_t>(), 7);
  EXPECT_TRUE(torch::equal(read->at("f"), torch::tensor({1.5f, -3.25f})));
}

TEST(Safetensors, AgreesWithThePythonLibraryBothWays) {
  ScratchDir dir("safetensors_python");
  const std::string ours = dir / "ours.safetensors", theirs = dir / "theirs.safetensors";
  ASSERT_TRUE(WriteSafetensors(ours,
                               {{"w", torch::arange(6, torch::kFloat32).view({2, 3}).to(torch::kBFloat16)},
                                {"i", torch::tensor({-1, 2, 3}, torch::kLong)}},
                               {{"format", "pt"}})
                  .ok());
  const auto run = testing::RunPython(dir.path(), R"(
import sys, torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
ours, theirs = sys.argv[1], sys.argv[2]
t = load_file(ours)
assert t["w"].dtype == torch.bfloat16 and t["w"].float().tolist() == [[0, 1, 2], [3, 4, 5]], t
assert t["i"].tolist() == [-1, 2, 3], t
with safe_open(ours, "pt") as f:
    assert f.metadata() == {"format": "pt"}, f.metadata()
save_file({"h": torch.tensor([0.5, 2.0], dtype=torch.float16), "b": torch.tensor([True, False]),
           "m": torch.arange(12, dtype=torch.int32).reshape(3, 4)}, theirs, metadata={"k": "v"})
)",
                                      {ours, theirs});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto read = ReadSafetensorsFile(theirs);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(torch::equal(read->tensors.at("h"), torch::tensor({0.5, 2.0}).to(torch::kFloat16)));
  EXPECT_TRUE(torch::equal(read->tensors.at("b"), torch::tensor({true, false})));
  EXPECT_TRUE(torch::equal(read->tensors.at("m"), torch::arange(12, torch::kInt32).view({3, 4})));
  EXPECT_EQ(read->metadata.at("k"), "v");
}

}  // namespace
}  // namespace zen
