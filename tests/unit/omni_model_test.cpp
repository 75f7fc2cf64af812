// Zen-Omni on the model side: the gated cross-attention's masks, placeholder replacement, parameter
// counts against the built model, frozen encoders and LoRA targets, a checkpoint round trip of the new
// modules, and a tiny Zen-Omni whose loss falls on synthetic media.
#include <iostream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "checkpoints/checkpoint.h"  // defines: SaveCheckpoint, CheckpointReader, LatestCheckpoint
#include "models/cross_attention.h"
#include "models/lora.h"
#include "models/media.h"
#include "models/param_count.h"
#include "models/qwen3.h"
#include "parallel/local_communicator.h"
#include "tests/unit/model_test_util.h"
#include "tests/unit/omni_test_util.h"     // defines: TinyOmniSpec, TinyOmniBatch
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir

namespace zen {
namespace {

using testing::TinyOmniBatch;
using testing::TinyOmniSpec;

TEST(CrossAttention, QueriesSeeOnlyTheirRowsMediaAndRowsWithoutMediaAreUnchanged) {
  const ModelSpec spec = TinyOmniSpec();
  torch::manual_seed(3);
  CrossAttention cross(spec, TpGroup{});
  for (auto& p : cross->parameters()) p.data().normal_(0, 0.2);
  cross->attn_gate.data().fill_(0.7);
  auto x = torch::randn({3, 5, spec.hidden});
  auto features = torch::randn({3, 4, spec.hidden});
  auto valid = torch::tensor({1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0}, torch::kBool).view({3, 4});  // row 2: none
  torch::NoGradGuard no_grad;
  auto y = cross(x, MediaContext{features, valid});
  // Changing row 1's media, or row 0's padding, changes nothing in row 0.
  auto other = features.clone();
  other[1] += 5.0;
  other[0][3] += 5.0;
  auto y_other = cross(x, MediaContext{other, valid});
  EXPECT_TRUE(torch::allclose(y_other[0], y[0], 0, 0));
  EXPECT_FALSE(torch::allclose(y_other[1], y[1]));
  EXPECT_TRUE(torch::equal(y[2], x[2])) << "a row without media passes through";
  EXPECT_FALSE(torch::allclose(y[0], x[0]));
  cross->attn_gate.data().zero_();
  EXPECT_TRUE(torch::equal(cross(x, MediaContext{features, valid}), x)) << "a closed gate is the identity";
}

TEST(Media, PlaceholderRunKTakesFeatureKInRowMajorOrder) {
  auto tokens = torch::tensor({5, 9, 9, 6, 9, 7, 9, 9, 8, 1}, torch::kLong).view({2, 5});  // 9 = placeholder
  auto embeddings = torch::zeros({2, 5, 3});
  auto features = torch::arange(1, 6, torch::kFloat).unsqueeze(1).expand({5, 3}).contiguous();  // k -> k + 1
  auto out = ReplacePlaceholders(embeddings, tokens, 9, features, "image");
  auto firsts = out.select(2, 0);  // (2, 5)
  EXPECT_TRUE(torch::equal(firsts, torch::tensor({0, 1, 2, 0, 3, 0, 4, 5, 0, 0}, torch::kFloat).view({2, 5})));
  EXPECT_THROW(ReplacePlaceholders(embeddings, tokens, 9, features.slice(0, 0, 4), "image"), c10::Error);
  // The cross-attention context of each row: its own placeholders' features, in order, then padding.
  auto context = GatherMediaContext(out, tokens.eq(9));
  EXPECT_TRUE(torch::equal(context.features.select(2, 0), torch::tensor({1, 2, 3, 4, 5, 0}, torch::kFloat).view({2, 3})));
  EXPECT_TRUE(torch::equal(context.valid, torch::tensor({1, 1, 1, 1, 1, 0}, torch::kBool).view({2, 3})));
}

int64_t Numel(const torch::nn::Module& m, const std::string& prefix) {
  int64_t n = 0;
  for (const auto& p : m.named_parameters()) n += p.key().rfind(prefix, 0) == 0 ? p.value().numel() : 0;
  return n;
}

TEST(OmniModel, ParameterCountsMatchTheBuiltModelAndTheGuidesEncoders) {
  const ModelSpec spec = TinyOmniSpec();
  Qwen3 model(spec);
  const ParamCounts counts = CountParams(spec);
  EXPECT_EQ(static_cast<int64_t>(counts.total), Numel(*model, ""));
  EXPECT_EQ(static_cast<int64_t>(counts.encoders),
            Numel(*model, "vision_tower.") + Numel(*model, "audio_tower.") + Numel(*model, "multi_modal_projector.") +
                Numel(*model, "audio_projector."));
  // The full-size encoders: ViT-L/14 ~0.30B, Whisper-large-v3's encoder ~0.64B (+ projectors).
  ModelSpec omni = spec;
  omni.hidden = 2048;
  omni.vision = VisionSpec{};
  omni.audio = AudioSpec{};
  omni.vision.layers = 24, omni.audio.layers = 32;
  ModelSpec vision_only = omni, audio_only = omni;
  vision_only.audio.layers = 0, audio_only.vision.layers = 0;
  const double vision = CountParams(vision_only).encoders, audio = CountParams(audio_only).encoders;
  std::cout << "[ counts   ] ViT-L/14 + projector " << vision / 1e9 << "B, Whisper-large-v3 encoder + projector "
            << audio / 1e9 << "B\n";
  EXPECT_NEAR(vision, 0.30e9 + 4096.0 * 2048 + 2048.0 * 2048, 0.02e9);
  EXPECT_NEAR(audio, 0.637e9 + 1280.0 * 2048 + 2048.0 * 2048, 0.01e9);
}

TEST(OmniModel, EncodersStayFrozenAndLoraAdaptsCrossAttentionAndExperts) {
  const ModelSpec spec = TinyOmniSpec();
  Qwen3 model(spec);
  for (const auto& p : model->named_parameters()) {
    const bool encoder = p.key().rfind("vision_tower.", 0) == 0 || p.key().rfind("audio_tower.", 0) == 0;
    EXPECT_EQ(p.value().requires_grad(), !encoder) << p.key();
  }
  auto trainable = ApplyLora(*model, testing::TinyLora({"cross_attn", "experts.*.mlp"}));
  ASSERT_TRUE(trainable.ok()) << trainable.status();
  LoraSpec lora = testing::TinyLora({"cross_attn", "experts.*.mlp"});
  int64_t gates = 0, adapters = 0;
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    const bool gate = p.key().find("cross_attn.attn_gate") != std::string::npos;
    const bool adapter = p.key().find(".lora_") != std::string::npos;
    EXPECT_TRUE(gate || adapter) << p.key();
    EXPECT_EQ(p.key().find("_tower."), std::string::npos) << p.key();
    gates += gate, adapters += adapter ? p.value().numel() : 0;
  }
  EXPECT_EQ(gates, 2);  // layers 1 and 3
  EXPECT_EQ(adapters, static_cast<int64_t>(CountLoraParams(spec, lora)));
}

// Runs `steps` AdamW steps of full fine-tuning on one batch; returns the losses.
std::vector<double> Train(Qwen3& model, const Batch& batch, int steps) {
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(3e-3));
  const MediaInputs media{batch.images, batch.video_frames, batch.audios};
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    auto hidden = model->forward(batch.tokens, batch.positions, {}, media);
    auto loss = model->loss_sum(hidden, batch.labels) / batch.LossTokens();
    loss.backward();
    optimizer.step();
    losses.push_back(loss.item<double>());
  }
  return losses;
}

TEST(OmniModel, TinyZenOmniLossFallsOnSyntheticMedia) {
  torch::manual_seed(11);
  const ModelSpec spec = TinyOmniSpec();
  Qwen3 model(spec);
  const Batch batch = TinyOmniBatch(spec, /*seed=*/5);
  const std::vector<double> losses = Train(model, batch, 30);
  std::cout << "[ omni     ] loss " << losses.front() << " -> " << losses.back() << " in 30 steps\n";
  EXPECT_LT(losses.back(), 0.5 * losses.front());
  // The media reached the loss: the projectors and the opened gates learned.
  for (const auto& p : model->named_parameters()) {
    if (p.key().find("attn_gate") != std::string::npos) EXPECT_NE(p.value().item<float>(), 0.0f) << p.key();
  }
  EXPECT_TRUE(model->named_parameters()["audio_projector.linear_1.weight"].grad().abs().sum().item<double>() > 0);
  EXPECT_TRUE(model->named_parameters()["multi_modal_projector.linear_1.weight"].grad().abs().sum().item<double>() > 0);
}

TEST(OmniModel, CheckpointRoundTripRestoresEncodersProjectorsAndCrossAttention) {
  testing::ScratchDir dir("omni_checkpoint");
  torch::manual_seed(1);
  const ModelSpec spec = TinyOmniSpec();
  Qwen3 trained(spec);
  Train(trained, TinyOmniBatch(spec, 5), 3);
  // As the trainer saves: every named parameter, whole (tp = 1).
  std::vector<SavedSlice> slices;
  for (const auto& p : trained->named_parameters()) {
    slices.push_back({"model/" + p.key(), p.value().detach(), p.value().sizes().vec(), -1, 0});
  }
  LocalCommunicator world;
  CheckpointInfo info;
  info.step = 3;
  ASSERT_TRUE(SaveCheckpoint(dir.path(), info, slices, world, 0).ok());
  auto latest = LatestCheckpoint(dir.path());
  ASSERT_TRUE(latest.ok());
  auto reader = CheckpointReader::Open(*latest);
  ASSERT_TRUE(reader.ok());
  torch::manual_seed(2);
  Qwen3 fresh(spec);
  int64_t omni_tensors = 0;
  torch::NoGradGuard no_grad;
  for (auto& p : fresh->named_parameters()) {
    auto full = reader->Full("model/" + p.key());
    ASSERT_TRUE(full.ok()) << p.key();
    p.value().copy_(*full);
    omni_tensors += p.key().find("_tower.") != std::string::npos || p.key().find("projector.") != std::string::npos ||
                    p.key().find("cross_attn.") != std::string::npos;
  }
  EXPECT_GT(omni_tensors, 40);
  const Batch batch = TinyOmniBatch(spec, 6);
  const MediaInputs media{batch.images, batch.video_frames, batch.audios};
  auto want = trained->forward(batch.tokens, batch.positions, {}, media);
  EXPECT_TRUE(torch::equal(fresh->forward(batch.tokens, batch.positions, {}, media), want));
}

}  // namespace
}  // namespace zen
