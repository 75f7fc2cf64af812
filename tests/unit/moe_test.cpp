// The mixture-of-experts block with one process: its auxiliary loss against hand-computed values, the
// loss's gradient against finite differences, forced routing, capacity dropping, and parameter names.
// (The block against transformers' Qwen3-MoE: hf_moe_oracle_test.cpp; expert parallelism: tests/mpi and
// tests/cli/moe_equivalence.sh.)
#include <set>

#include <gtest/gtest.h>

#include "models/moe.h"
#include "models/qwen3.h"
#include "tests/unit/model_test_util.h"

namespace zen {
namespace {

ModelSpec TinyMoeSpec(int64_t experts = 4, int64_t top_k = 2) {
  ModelSpec spec = testing::TinySpec();
  spec.experts = experts;
  spec.top_k = top_k;
  spec.expert_ffn = 16;
  return spec;
}

TEST(MoeAuxLoss, MatchesTheSwitchFormulaByHand) {
  // 2 tokens, 2 experts, top-1: token 0 picks expert 0, token 1 expert 0 too.
  auto probs = torch::tensor({0.7f, 0.3f, 0.6f, 0.4f}).view({2, 2});
  auto experts = torch::tensor({0, 0}, torch::kLong).view({2, 1});
  // f = (1, 0), P = (0.65, 0.35): coef * E * sum f P = 0.1 * 2 * 0.65 = 0.13.
  EXPECT_NEAR(LoadBalancingLoss(probs, experts, 2, 0.1).item<double>(), 0.13, 1e-7);
  // top-2 over 3 experts, 2 tokens: choices {0, 1} and {0, 2}: f = (2, 1, 1) / 4.
  auto p3 = torch::tensor({0.5f, 0.3f, 0.2f, 0.4f, 0.1f, 0.5f}).view({2, 3});
  auto e3 = torch::tensor({0, 1, 0, 2}, torch::kLong).view({2, 2});
  const double want = 1.0 * 3 * (0.5 * 0.45 + 0.25 * 0.2 + 0.25 * 0.35);
  EXPECT_NEAR(LoadBalancingLoss(p3, e3, 3, 1.0).item<double>(), want, 1e-6);
}

TEST(MoeAuxLoss, IsExactlyTheCoefficientAtPerfectBalance) {
  auto probs = torch::full({8, 4}, 0.25f);
  auto experts = torch::tensor({0, 1, 2, 3, 0, 1, 2, 3}, torch::kLong).view({8, 1});
  EXPECT_NEAR(LoadBalancingLoss(probs, experts, 4, 0.01).item<double>(), 0.01, 1e-9);  // fp32
}

// The block's aux loss as the model reports it, for the router weight `w`.
double AuxOf(MoeBlock& block, MoeStats& stats, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  stats.Reset(4);
  block(x);
  return stats.aux_sum.item<double>();
}

TEST(MoeAuxLoss, ItsGradientReachesTheRouterAsFiniteDifferencesSay) {
  torch::manual_seed(1);
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(4);
  stats->aux_scale = 1.0;
  MoeSpec moe;
  moe.aux_loss_coef = 1.0;
  MoeBlock block(TinyMoeSpec(), moe, TpGroup{}, EpGroup{}, stats);
  torch::Tensor x = torch::randn({1, 16, 32});
  // Only the aux term reaches the router: the block's output is multiplied by zero.
  (block(x) * 0).sum().backward();
  torch::Tensor analytic = block->gate->weight.grad().clone();
  ASSERT_GT(analytic.abs().max().item<float>(), 0.0f);
  const double eps = 1e-3;
  for (int64_t i : {0, 3}) {
    for (int64_t j : {0, 5, 17}) {
      torch::NoGradGuard no_grad;
      const float saved = block->gate->weight[i][j].item<float>();
      block->gate->weight[i][j] = saved + eps;
      const double up = AuxOf(block, *stats, x);
      block->gate->weight[i][j] = saved - eps;
      const double down = AuxOf(block, *stats, x);
      block->gate->weight[i][j] = saved;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic[i][j].item<double>(), numeric, 2e-3 + 2e-2 * std::abs(numeric)) << i << "," << j;
    }
  }
}

// A router that sends every token to expert 0: positive inputs and only row 0 of the router non-zero.
MoeBlock ForcedToExpertZero(const MoeSpec& moe, std::shared_ptr<MoeStats> stats) {
  MoeBlock block(TinyMoeSpec(/*experts=*/4, /*top_k=*/1), moe, TpGroup{}, EpGroup{}, std::move(stats));
  torch::NoGradGuard no_grad;
  block->gate->weight.zero_();
  block->gate->weight[0].fill_(10.0);
  return block;
}

TEST(MoeBlock, EveryTokenForcedToOneExpertStillTrains) {
  torch::manual_seed(2);
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(4);
  MoeBlock block = ForcedToExpertZero(MoeSpec{}, stats);
  torch::Tensor x = torch::rand({2, 8, 32}) + 0.1, target = torch::randn({2, 8, 32});
  std::vector<torch::Tensor> params;
  for (auto& p : block->parameters()) params.push_back(p);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    adam.zero_grad();
    auto loss = (block(x) - target).square().mean();
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.9 * first);
  EXPECT_EQ(stats->expert_counts[0].item<int64_t>(), 20 * 16);  // every token, every step
  EXPECT_EQ(stats->expert_counts.slice(0, 1).sum().item<int64_t>(), 0);
  // The idle experts still get a gradient (zeros), so every layout updates the same parameters.
  ASSERT_TRUE(block->experts[3]->gate_proj->weight.grad().defined());
  EXPECT_EQ(block->experts[3]->gate_proj->weight.grad().abs().sum().item<float>(), 0.0f);
}

TEST(MoeBlock, CapacityFactorDropsTheOverflowAndCountsIt) {
  torch::manual_seed(3);
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(4);
  MoeSpec moe;
  moe.capacity_factor = 1.0;  // 8 tokens, 4 experts, top-1: capacity 2 per expert
  MoeBlock block = ForcedToExpertZero(moe, stats);
  torch::Tensor x = torch::rand({1, 8, 32}) + 0.1;
  torch::Tensor y = block(x);
  EXPECT_EQ(stats->dropped.item<int64_t>(), 6);
  EXPECT_GT(y[0].slice(0, 0, 2).abs().sum().item<float>(), 0.0f);  // the first two tokens were kept
  EXPECT_EQ(y[0].slice(0, 2).abs().sum().item<float>(), 0.0f);     // the rest dropped (no shared expert)
}

TEST(MoeBlock, ParameterNamesAreTheHubCheckpointsAndAnExpertRankHoldsItsExperts) {
  torch::manual_seed(0);
  ModelSpec spec = TinyMoeSpec();
  spec.shared_ffn = 24;
  Qwen3 whole(spec);
  std::set<std::string> names;
  for (const auto& p : whole->named_parameters()) names.insert(p.key());
  for (const char* n : {"model.layers.0.mlp.gate.weight", "model.layers.1.mlp.experts.3.down_proj.weight",
                        "model.layers.0.mlp.experts.0.gate_proj.weight", "model.layers.0.mlp.shared_expert.up_proj.weight"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  EXPECT_FALSE(names.count("model.layers.0.mlp.gate_proj.weight"));  // no dense MLP on an MoE layer
  // Rank 1 of an expert group of 2 holds experts 2 and 3, under their global names, with the same values.
  EpGroup second_half{nullptr, 1, 2};
  torch::manual_seed(0);
  Qwen3 half(spec, TpGroup{}, StageRange::Whole(spec), MoeSpec{}, second_half);
  auto mine = half->named_parameters();
  EXPECT_EQ(mine.find("model.layers.0.mlp.experts.1.up_proj.weight"), nullptr);
  ASSERT_NE(mine.find("model.layers.0.mlp.experts.2.up_proj.weight"), nullptr);
  EXPECT_TRUE(torch::equal(*mine.find("model.layers.0.mlp.experts.2.up_proj.weight"),
                           whole->named_parameters()["model.layers.0.mlp.experts.2.up_proj.weight"]));
}

}  // namespace
}  // namespace zen
