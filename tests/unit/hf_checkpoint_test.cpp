// Hugging Face folders: save and load by parameter name, sharded indexes, and the errors users see.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "checkpoints/hf_checkpoint.h"
#include "checkpoints/safetensors.h"
#include "core/status.h"
#include "models/lora.h"
#include "models/qwen3.h"
#include "parallel/layers.h"
#include "tests/unit/model_test_util.h"
#include "tests/unit/trainer_test_util.h"  // defines: ScratchDir, WriteText

namespace zen {
namespace {

using testing::ScratchDir;
using testing::TinySpec;

void ExpectSameParameters(torch::nn::Module& a, torch::nn::Module& b) {
  auto pb = b.named_parameters();
  for (const auto& p : a.named_parameters()) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
}

std::vector<std::pair<std::string, torch::Tensor>> Named(torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : model.named_parameters()) tensors.emplace_back(p.key(), p.value());
  return tensors;
}

TEST(HfCheckpoint, SaveThenLoadRestoresEveryParameterButNotAdapters) {
  for (bool tied : {true, false}) {
    ScratchDir dir("hf_roundtrip");
    torch::manual_seed(1);
    Qwen3 saved(TinySpec(tied));
    ASSERT_TRUE(ApplyLora(*saved, testing::TinyLora({"q"})).ok());
    ASSERT_TRUE(SaveHfWeights(dir.path(), *saved).ok());
    auto file = ReadSafetensorsFile(dir / "model.safetensors");
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(file->metadata.at("format"), "pt");
    for (const auto& [name, tensor] : file->tensors) EXPECT_EQ(name.find("lora_"), std::string::npos) << name;
    EXPECT_EQ(file->tensors.count("lm_head.weight"), tied ? 0u : 1u);

    torch::manual_seed(2);
    Qwen3 loaded(TinySpec(tied));
    const absl::Status status = LoadHfWeights(dir.path(), *loaded, TpGroup{});
    ASSERT_TRUE(status.ok()) << status;
    ExpectSameParameters(*loaded, *saved);
  }
}

TEST(HfCheckpoint, ShardedIndexIsFollowed) {
  ScratchDir dir("hf_sharded");
  torch::manual_seed(1);
  Qwen3 saved(TinySpec(/*tied=*/false));
  auto tensors = Named(*saved);
  const size_t half = tensors.size() / 2;
  std::vector<std::pair<std::string, torch::Tensor>> first(tensors.begin(), tensors.begin() + half);
  std::vector<std::pair<std::string, torch::Tensor>> second(tensors.begin() + half, tensors.end());
  ASSERT_TRUE(WriteSafetensors(dir / "model-00001-of-00002.safetensors", first).ok());
  ASSERT_TRUE(WriteSafetensors(dir / "model-00002-of-00002.safetensors", second).ok());
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  for (const auto& [name, t] : first) index["weight_map"][name] = "model-00001-of-00002.safetensors";
  for (const auto& [name, t] : second) index["weight_map"][name] = "model-00002-of-00002.safetensors";
  testing::WriteText(dir / "model.safetensors.index.json", index.dump(2));

  torch::manual_seed(2);
  Qwen3 loaded(TinySpec(/*tied=*/false));
  const absl::Status status = LoadHfWeights(dir.path(), *loaded, TpGroup{});
  ASSERT_TRUE(status.ok()) << status;
  ExpectSameParameters(*loaded, *saved);
}

TEST(HfCheckpoint, StoredDtypeIsCastAndAnUnusedLmHeadIgnored) {
  ScratchDir dir("hf_cast");
  torch::manual_seed(1);
  Qwen3 source(TinySpec(/*tied=*/false));
  std::vector<std::pair<std::string, torch::Tensor>> bf16;
  for (const auto& [name, t] : Named(*source)) bf16.emplace_back(name, t.to(torch::kBFloat16));
  ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", bf16).ok());
  Qwen3 tied(TinySpec(/*tied=*/true));  // holds no lm_head.weight
  const absl::Status status = LoadHfWeights(dir.path(), *tied, TpGroup{});
  ASSERT_TRUE(status.ok()) << status;
  auto want =
      source->named_parameters()["model.embed_tokens.weight"].to(torch::kBFloat16).to(torch::kFloat32);
  EXPECT_EQ(tied->named_parameters()["model.embed_tokens.weight"].scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(tied->named_parameters()["model.embed_tokens.weight"], want));
}

TEST(HfCheckpoint, TensorParallelRankLoadsItsSlices) {
  ScratchDir dir("hf_tp");
  torch::manual_seed(1);
  Qwen3 whole(TinySpec(/*tied=*/false));
  ASSERT_TRUE(SaveHfWeights(dir.path(), *whole).ok());
  for (int64_t r = 0; r < 2; ++r) {
    const TpGroup tp{nullptr, r, 2};
    torch::manual_seed(2);
    Qwen3 rank(TinySpec(/*tied=*/false), tp);
    const absl::Status status = LoadHfWeights(dir.path(), *rank, tp);
    ASSERT_TRUE(status.ok()) << status;
    const auto dims = TpSplitDims(*rank);
    auto all = whole->named_parameters();
    for (const auto& p : rank->named_parameters()) {
      EXPECT_TRUE(torch::equal(p.value(), TpShard(all[p.key()], dims.at(p.key()), tp))) << p.key();
    }
    auto q = rank->named_parameters()["model.layers.0.self_attn.q_proj.weight"];
    EXPECT_TRUE(
        torch::equal(q, all["model.layers.0.self_attn.q_proj.weight"].slice(0, 16 * r, 16 * (r + 1))));
  }
}

TEST(HfCheckpoint, MissingParameterIsBadInputNamingIt) {
  ScratchDir dir("hf_missing");
  torch::manual_seed(1);
  Qwen3 model(TinySpec());
  auto tensors = Named(*model);
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                               [](const auto& t) { return t.first == "model.layers.1.mlp.up_proj.weight"; }),
                tensors.end());
  ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", tensors).ok());
  const absl::Status status = LoadHfWeights(dir.path(), *model, TpGroup{});
  EXPECT_TRUE(IsBadInput(status)) << status;
  EXPECT_NE(std::string(status.message()).find("model.layers.1.mlp.up_proj.weight"), std::string::npos)
      << status;
}

TEST(HfCheckpoint, WrongShapeIsBadInputNamingIt) {
  ScratchDir dir("hf_shape");
  torch::manual_seed(1);
  Qwen3 model(TinySpec());
  auto tensors = Named(*model);
  for (auto& [name, t] : tensors) {
    if (name == "model.norm.weight") t = torch::ones({7});
  }
  ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", tensors).ok());
  const absl::Status status = LoadHfWeights(dir.path(), *model, TpGroup{});
  EXPECT_TRUE(IsBadInput(status)) << status;
  EXPECT_NE(std::string(status.message()).find("model.norm.weight"), std::string::npos) << status;
}

TEST(HfCheckpoint, FolderWithoutWeightsIsBadInput) {
  ScratchDir dir("hf_empty");
  torch::manual_seed(1);
  Qwen3 model(TinySpec());
  const absl::Status status = LoadHfWeights(dir.path(), *model, TpGroup{});
  EXPECT_TRUE(IsBadInput(status)) << status;
  EXPECT_NE(std::string(status.message()).find("model.safetensors"), std::string::npos) << status;
}

}  // namespace
}  // namespace zen
