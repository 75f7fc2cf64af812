// The oracle for Zen-Omni's encoders: tiny random CLIPVisionModel and WhisperEncoder built by Hugging Face
// transformers (tests/oracle/make_tiny_encoders.py), loaded into zen's encoders by name, must give the same
// hidden states: an image at the trained size, one at another size (interpolated positions), and mels.
#include <iostream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "checkpoints/safetensors.h"  // defines: ReadSafetensors
#include "models/audio_encoder.h"
#include "models/vision_encoder.h"
#include "tests/unit/model_test_util.h"    // defines: MaxRelativeError
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, RunPython, ReadText

namespace zen {
namespace {

using testing::MaxRelativeError;
using testing::ScratchDir;

constexpr double kTolerance = 1e-5;

void MakeTinyEncoders(const ScratchDir& dir) {
  const std::string script =
      testing::ReadText(std::string(ZEN_SOURCE_DIR) + "/tests/oracle/make_tiny_encoders.py");
  const auto run = testing::RunPython(dir.path(), script, {dir.path()});
  ASSERT_EQ(run.exit_code, 0) << "make_tiny_encoders.py failed:\n" << run.output;
}

// Copies every tensor of `file` into the parameter of the same name; each parameter must be covered.
void LoadByName(torch::nn::Module& module, const std::string& file) {
  auto tensors = ReadSafetensors(file);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  auto params = module.named_parameters();
  ASSERT_EQ(params.size(), tensors->size()) << file;
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : *tensors) {
    torch::Tensor* param = params.find(name);
    ASSERT_NE(param, nullptr) << "zen has no parameter " << name;
    ASSERT_EQ(param->sizes(), tensor.sizes()) << name;
    param->copy_(tensor);
  }
}

std::map<std::string, torch::Tensor> Fixture(const ScratchDir& dir) {
  auto fixture = ReadSafetensors(dir / "fixture.safetensors");
  EXPECT_TRUE(fixture.ok()) << fixture.status();
  return fixture.ok() ? *fixture : std::map<std::string, torch::Tensor>{};
}

TEST(OmniEncodersOracle, ClipVisionStatesMatchTransformersAtTrainedAndInterpolatedSizes) {
  ScratchDir dir("omni_vision_oracle");
  ASSERT_NO_FATAL_FAILURE(MakeTinyEncoders(dir));
  VisionSpec spec;
  spec.layers = 2, spec.hidden = 64, spec.heads = 4, spec.ffn = 128, spec.patch = 14, spec.image_size = 56;
  VisionEncoder encoder(spec, TpGroup{});
  ASSERT_NO_FATAL_FAILURE(LoadByName(*encoder, dir / "vision.safetensors"));
  auto fixture = Fixture(dir);
  torch::NoGradGuard no_grad;
  const double at_size = MaxRelativeError(encoder(fixture.at("pixels")), fixture.at("states"));
  const double larger = MaxRelativeError(encoder(fixture.at("pixels_large")), fixture.at("states_large"));
  std::cout << "[ oracle   ] CLIP vision: max rel error " << at_size << " at 56px, " << larger
            << " at 84px (interpolated positions)\n";
  EXPECT_LE(at_size, kTolerance);
  EXPECT_LE(larger, kTolerance);
}

TEST(OmniEncodersOracle, WhisperEncoderStatesMatchTransformers) {
  ScratchDir dir("omni_audio_oracle");
  ASSERT_NO_FATAL_FAILURE(MakeTinyEncoders(dir));
  AudioSpec spec;
  spec.layers = 2, spec.hidden = 64, spec.heads = 4, spec.ffn = 128, spec.mel_bins = 16, spec.chunk_frames = 64;
  AudioEncoder encoder(spec, TpGroup{});
  auto file = ReadSafetensors(dir / "audio.safetensors");
  ASSERT_TRUE(file.ok());
  // zen computes the fixed sinusoids itself: they must be transformers' before loading overwrites them.
  const double sinusoids = MaxRelativeError(encoder->embed_positions, file->at("embed_positions.weight"));
  ASSERT_NO_FATAL_FAILURE(LoadByName(*encoder, dir / "audio.safetensors"));
  auto fixture = Fixture(dir);
  torch::NoGradGuard no_grad;
  const double states = MaxRelativeError(encoder(fixture.at("mels")), fixture.at("audio_states"));
  std::cout << "[ oracle   ] Whisper encoder: max rel error " << states << ", sinusoids " << sinusoids << "\n";
  EXPECT_LE(states, kTolerance);
  EXPECT_LE(sinusoids, kTolerance);
}

}  // namespace
}  // namespace zen
