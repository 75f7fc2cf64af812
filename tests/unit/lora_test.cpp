// LoRA: targets, freezing, the adapter's arithmetic, merging.
#include <string>

#include <gtest/gtest.h>

#include "core/status.h"
#include "models/lora.h"
#include "models/qwen3.h"
#include "parallel/layers.h"
#include "tests/unit/model_test_util.h"

namespace zen {
namespace {

using testing::Positions;
using testing::TinyLora;
using testing::TinySpec;

torch::Tensor Logits(Qwen3& model, const torch::Tensor& tokens) {
  return model->logits(model->forward(tokens, Positions(tokens.size(0), tokens.size(1))));
}

// Gives every adapter a non-zero B, as training would.
void RandomizeB(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    if (p.key().find("lora_B") != std::string::npos) p.value().normal_(0.0, 0.1);
  }
}

TEST(Lora, FreshAdapterLeavesTheOutputUnchanged) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  auto tokens = torch::randint(64, {2, 7}, torch::kLong);
  auto before = Logits(model, tokens);
  ASSERT_TRUE(ApplyLora(*model, TinyLora({"q", "v", "o", "gate", "up", "down"})).ok());
  EXPECT_TRUE(torch::allclose(Logits(model, tokens), before, 0, 0));
}

TEST(Lora, OnlyAdapterParametersRequireGrad) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  auto trainable = ApplyLora(*model, TinyLora({"q", "down"}));
  ASSERT_TRUE(trainable.ok()) << trainable.status();
  int64_t adapters = 0;
  for (const auto& p : model->named_parameters()) {
    const bool adapter = p.key().find(".lora_") != std::string::npos;
    EXPECT_EQ(p.value().requires_grad(), adapter) << p.key();
    if (adapter) adapters += p.value().numel();
  }
  EXPECT_EQ(*trainable, adapters);
  // 2 layers x (q: 4*(32+32) + down: 4*(48+32)), rank 4.
  EXPECT_EQ(*trainable, 2 * (4 * (32 + 32) + 4 * (48 + 32)));
  auto params = model->named_parameters();
  EXPECT_EQ(params["model.layers.0.self_attn.q_proj.lora_A"].sizes(), (std::vector<int64_t>{4, 32}));
  EXPECT_EQ(params["model.layers.1.mlp.down_proj.lora_B"].sizes(), (std::vector<int64_t>{32, 4}));
  EXPECT_EQ(params.find("model.layers.0.self_attn.k_proj.lora_A"), nullptr);
}

TEST(Lora, GradientsReachOnlyTheAdapters) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  ASSERT_TRUE(ApplyLora(*model, TinyLora({"q_proj", "up_proj"})).ok());
  RandomizeB(*model);
  auto tokens = torch::randint(64, {2, 6}, torch::kLong);
  model->loss_sum(model->forward(tokens, Positions(2, 6)), testing::ShiftedLabels(tokens)).backward();
  for (const auto& p : model->named_parameters()) {
    if (p.key().find(".lora_") != std::string::npos) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
    } else {
      EXPECT_FALSE(p.value().grad().defined()) << p.key();
    }
  }
}

TEST(Lora, AdapterAddsScaledLowRankProductLikePeft) {
  torch::manual_seed(0);
  ColumnParallelLinear linear(6, 5, TpGroup{});
  linear->AttachLora(/*rank=*/2, /*scale=*/3.0, /*dropout=*/0.0);
  {
    torch::NoGradGuard no_grad;
    linear->lora_B.normal_();
  }
  auto x = torch::randn({4, 6});
  auto want = torch::matmul(x, linear->weight.t()) +
              3.0 * torch::matmul(torch::matmul(x, linear->lora_A.t()), linear->lora_B.t());
  EXPECT_TRUE(torch::allclose(linear(x), want, 1e-5, 1e-6));
  // A is kaiming-uniform(a=sqrt(5)): within +-1/sqrt(in).
  EXPECT_LE(linear->lora_A.abs().max().item<double>(), 1.0 / std::sqrt(6.0));
}

TEST(Lora, MergeReproducesTheAdaptedOutputAndRemovesTheAdapters) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec(/*tied=*/false));
  ASSERT_TRUE(ApplyLora(*model, TinyLora({"q", "k", "v", "o", "gate", "up", "down"})).ok());
  RandomizeB(*model);
  auto tokens = torch::randint(64, {2, 7}, torch::kLong);
  torch::Tensor adapted, base_only;
  {
    torch::NoGradGuard no_grad;
    adapted = Logits(model, tokens);
  }
  MergeLora(*model);
  for (const auto& p : model->named_parameters()) {
    EXPECT_EQ(p.key().find("lora_"), std::string::npos) << p.key();
  }
  torch::NoGradGuard no_grad;
  EXPECT_LT(testing::MaxRelativeError(Logits(model, tokens), adapted), 1e-5);
}

TEST(Lora, ShortAndFullTargetNamesAreTheSameModule) {
  torch::manual_seed(0);
  Qwen3 a(TinySpec()), b(TinySpec()), c(TinySpec());
  auto short_names = ApplyLora(*a, TinyLora({"q", "gate"}));
  auto full_names = ApplyLora(*b, TinyLora({"q_proj", "gate_proj"}));
  auto both = ApplyLora(*c, TinyLora({"q", "q_proj", "gate", "gate_proj"}));
  ASSERT_TRUE(short_names.ok() && full_names.ok() && both.ok());
  EXPECT_EQ(*short_names, *full_names);
  EXPECT_EQ(*short_names, *both);
}

TEST(Lora, UnknownTargetIsBadInputNamingTheEntry) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  auto result = ApplyLora(*model, TinyLora({"q", "banana"}));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsBadInput(result.status()));
  const std::string message(result.status().message());
  EXPECT_NE(message.find("lora.targets"), std::string::npos) << message;
  EXPECT_NE(message.find("banana"), std::string::npos) << message;
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad());  // untouched
}

TEST(Lora, TargetMatchingNoModuleIsBadInput) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  auto result = ApplyLora(*model, TinyLora({"q", "router"}));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsBadInput(result.status()));
  EXPECT_NE(std::string(result.status().message()).find("router"), std::string::npos) << result.status();
}

TEST(Lora, NonPositiveRankIsBadInput) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  auto result = ApplyLora(*model, TinyLora({"q"}, /*rank=*/0));
  EXPECT_TRUE(IsBadInput(result.status())) << result.status();
}

TEST(Lora, DisabledMeansFullFineTuningWithNothingFrozen) {
  torch::manual_seed(0);
  Qwen3 model(TinySpec());
  LoraSpec off = TinyLora({"q"});
  off.enabled = false;
  auto trainable = ApplyLora(*model, off);
  ASSERT_TRUE(trainable.ok());
  int64_t all = 0;
  for (const auto& p : model->parameters()) {
    EXPECT_TRUE(p.requires_grad());
    all += p.numel();
  }
  EXPECT_EQ(*trainable, all);
}

TEST(Lora, TensorParallelAdaptersAreSlicesOfTheWholeOnes) {
  torch::manual_seed(6);
  Qwen3 whole(TinySpec());
  ASSERT_TRUE(ApplyLora(*whole, TinyLora({"q", "o", "down"})).ok());
  std::vector<Qwen3> ranks;
  for (int64_t r = 0; r < 2; ++r) {
    torch::manual_seed(6);
    ranks.push_back(Qwen3(TinySpec(), TpGroup{nullptr, r, 2}));
    auto trainable = ApplyLora(*ranks.back(), TinyLora({"q", "o", "down"}));
    ASSERT_TRUE(trainable.ok()) << trainable.status();
  }
  const auto dims = TpSplitDims(*whole);
  auto p0 = ranks[0]->named_parameters(), p1 = ranks[1]->named_parameters();
  // Column-parallel q: A whole, B split by rows; row-parallel o and down: A split by columns, B whole.
  EXPECT_EQ(dims.at("model.layers.0.self_attn.q_proj.lora_A"), -1);
  EXPECT_EQ(dims.at("model.layers.0.self_attn.q_proj.lora_B"), 0);
  EXPECT_EQ(dims.at("model.layers.0.self_attn.o_proj.lora_A"), 1);
  EXPECT_EQ(dims.at("model.layers.0.mlp.down_proj.lora_B"), -1);
  for (const auto& p : whole->named_parameters()) {
    if (p.key().find(".lora_") == std::string::npos) continue;
    const int64_t dim = dims.at(p.key());
    auto joined = dim < 0 ? p0[p.key()] : torch::cat({p0[p.key()], p1[p.key()]}, dim);
    EXPECT_TRUE(torch::equal(joined, p.value())) << p.key();
  }
}

TEST(Lora, AdaptersAreTheSameForTheSameSeed) {
  torch::manual_seed(1);
  Qwen3 a(TinySpec());
  ASSERT_TRUE(ApplyLora(*a, TinyLora({"v", "o"})).ok());
  torch::manual_seed(1);
  Qwen3 b(TinySpec());
  ASSERT_TRUE(ApplyLora(*b, TinyLora({"v", "o"})).ok());
  auto pb = b->named_parameters();
  for (const auto& p : a->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
}

}  // namespace
}  // namespace zen
