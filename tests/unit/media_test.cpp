// Zen-Omni's media decoding against its oracles: images as Pillow decodes and resizes them, audio features
// as transformers' WhisperFeatureExtractor computes them (tests/oracle/media_oracle.py writes the files and
// what those libraries make of them).
#include <gtest/gtest.h>

#include <fstream>

#include "data/media/audio.h"
#include "data/media/image.h"
#include "data_test_util.h"

namespace zen {
namespace {

using testing_data::ReadFile;
using testing_data::RunCommand;
using testing_data::TempDir;
using testing_data::WriteFile;

void RunOracle(const TempDir& tmp, const std::string& args) {
  const std::string command = std::string(ZEN_PYTHON) + " " + ZEN_SOURCE_DIR + "/tests/oracle/media_oracle.py " + args;
  ASSERT_EQ(RunCommand(command, tmp / "oracle.log"), 0) << ReadFile(tmp / "oracle.log");
}

torch::Tensor FromFile(const std::string& path, torch::IntArrayRef shape, torch::ScalarType type) {
  std::string bytes = ReadFile(path);
  return torch::from_blob(bytes.data(), shape, type).clone();
}

int64_t MaxDifference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kInt32) - b.to(torch::kInt32)).abs().max().item<int64_t>();
}

constexpr int64_t kSize = 28;

TEST(Image, DecodedPixelsEqualPillowsAndResizeIsWithinOneOfItsBicubic) {
  TempDir tmp;
  RunOracle(tmp, "image " + tmp.path() + " " + std::to_string(kSize));
  for (const char* name : {"rgb.png", "grey.png", "rgba.png", "grey_alpha.png", "palette.png", "rgb.jpg", "grey.jpg"}) {
    SCOPED_TRACE(name);
    std::ifstream shape(tmp / (std::string(name) + ".shape"));
    int64_t h = 0, w = 0;
    shape >> h >> w;
    const torch::Tensor pillow = FromFile(tmp / (std::string(name) + ".rgb"), {h, w, 3}, torch::kUInt8);
    auto decoded = DecodeImage(tmp / name);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_EQ(decoded->sizes(), pillow.sizes());
    const bool png = std::string(name).find(".png") != std::string::npos;
    const int64_t difference = MaxDifference(*decoded, pillow);
    EXPECT_LE(difference, png ? 0 : 1);
    // Resizing 37 x 53 to 28 x 28 (both sides shrink) against PIL's bicubic on the same pixels.
    const torch::Tensor resized = ResizeImage(pillow, kSize);
    const torch::Tensor pillow_resized = FromFile(tmp / (std::string(name) + ".resized"), {3, kSize, kSize}, torch::kUInt8);
    EXPECT_LE(MaxDifference(resized, pillow_resized), 1);
    std::printf("%-15s decode max |zen - PIL| = %lld, bicubic resize max |zen - PIL| = %lld\n", name,
                static_cast<long long>(difference), static_cast<long long>(MaxDifference(resized, pillow_resized)));
  }
}

TEST(Image, MissingCorruptOrOtherFormatsAreErrorsNamingTheFile) {
  TempDir tmp;
  WriteFile(tmp / "text.png", "not an image at all");
  WriteFile(tmp / "cut.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  for (const std::string path : {tmp / "missing.png", tmp / "text.png", tmp / "cut.png"}) {
    auto image = LoadImage(path, kSize);
    ASSERT_FALSE(image.ok()) << path;
    EXPECT_TRUE(IsBadInput(image.status())) << image.status();
    EXPECT_NE(image.status().message().find(path), std::string::npos) << image.status();
  }
}

TEST(Image, NormalizedWithClipsMeanAndStd) {
  const torch::Tensor pixels = torch::full({3, 2, 2}, 255, torch::kUInt8);
  const torch::Tensor x = NormalizeImages(pixels);
  EXPECT_NEAR(x[0][0][0].item<float>(), (1 - 0.48145466) / 0.26862954, 1e-5);
  EXPECT_NEAR(x[2][1][1].item<float>(), (1 - 0.40821073) / 0.27577711, 1e-5);
}

constexpr int64_t kMelBins = 16, kFrames = 64;

TEST(Audio, LogMelEqualsWhisperFeatureExtractor) {
  TempDir tmp;
  RunOracle(tmp, "audio " + tmp.path() + " " + std::to_string(kMelBins) + " " + std::to_string(kFrames));
  // A chirp longer than the chunk (cut), in 16-bit PCM mono and float32 stereo, and a short tone (padded).
  for (const char* name : {"chirp16.wav", "chirp_stereo.wav", "tone.wav"}) {
    SCOPED_TRACE(name);
    auto mel = LoadAudio(tmp / name, kMelBins, kFrames);
    ASSERT_TRUE(mel.ok()) << mel.status();
    ASSERT_EQ(mel->sizes(), torch::IntArrayRef({kMelBins, kFrames}));
    const torch::Tensor oracle = FromFile(tmp / (std::string(name) + ".mel"), {kMelBins, kFrames}, torch::kFloat32);
    const torch::Tensor numpy = FromFile(tmp / (std::string(name) + ".mel_np"), {kMelBins, kFrames}, torch::kFloat32);
    const double difference = (*mel - oracle).abs().max().item<double>();
    const double numpy_difference = (*mel - numpy).abs().max().item<double>();
    EXPECT_LT(difference, 1e-3);
    EXPECT_LT(numpy_difference, 1e-3);
    std::printf("%-17s max |zen - WhisperFeatureExtractor| = %.3g (its numpy path: %.3g) over %lld x %lld features "
                "(range %.3f..%.3f)\n", name, difference, numpy_difference, static_cast<long long>(kMelBins),
                static_cast<long long>(kFrames), oracle.min().item<double>(), oracle.max().item<double>());
  }
}

TEST(Audio, WhisperSizedFilterbankHasNoEmptyFilter) {
  const torch::Tensor filters = MelFilterbank(128);
  ASSERT_EQ(filters.sizes(), torch::IntArrayRef({128, kMelFft / 2 + 1}));
  EXPECT_TRUE(filters.amax(1).gt(0).all().item<bool>());
}

// A WAV header with the given format tag, channels, rate and bits, and `data` as its samples.
std::string Wav(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits, const std::string& data) {
  std::string fmt(16, '\0');
  const uint16_t block = channels * bits / 8;
  const uint32_t bytes_per_s = rate * block;
  std::memcpy(&fmt[0], &tag, 2), std::memcpy(&fmt[2], &channels, 2), std::memcpy(&fmt[4], &rate, 4);
  std::memcpy(&fmt[8], &bytes_per_s, 4), std::memcpy(&fmt[12], &block, 2), std::memcpy(&fmt[14], &bits, 2);
  auto u32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  return "RIFF" + u32(4 + 24 + 8 + data.size()) + "WAVE" + "fmt " + u32(16) + fmt + "data" + u32(data.size()) + data;
}

TEST(Audio, StereoPcmIsAveragedAndOtherRatesOrEncodingsAreErrorsNamingTheFile) {
  TempDir tmp;
  const int16_t stereo[] = {16384, -16384, 8192, 8192};  // two frames, left and right
  WriteFile(tmp / "stereo.wav", Wav(1, 2, 16000, 16, std::string(reinterpret_cast<const char*>(stereo), 8)));
  auto samples = ReadWav(tmp / "stereo.wav");
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->numel(), 2);
  EXPECT_FLOAT_EQ((*samples)[0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ((*samples)[1].item<float>(), 0.25f);

  WriteFile(tmp / "44k.wav", Wav(1, 1, 44100, 16, std::string(4, '\0')));
  WriteFile(tmp / "pcm24.wav", Wav(1, 1, 16000, 24, std::string(6, '\0')));
  WriteFile(tmp / "text.wav", "hello");
  for (const std::string path : {tmp / "44k.wav", tmp / "pcm24.wav", tmp / "text.wav", tmp / "missing.wav"}) {
    auto read = ReadWav(path);
    ASSERT_FALSE(read.ok()) << path;
    EXPECT_TRUE(IsBadInput(read.status())) << read.status();
    EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
  }
  EXPECT_NE(ReadWav(tmp / "44k.wav").status().message().find("44100 Hz"), std::string::npos);
}

}  // namespace
}  // namespace zen
