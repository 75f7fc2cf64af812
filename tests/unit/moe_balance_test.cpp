// Load balancing of the MoE block beyond one micro-batch, in one process: global-batch balancing
// (moe.balance = global_batch) against a hand computation over two micro-batches, its window restarting
// each step, and a recomputing backward seeing the counts its forward saw. (Layouts against one process:
// tests/cli/moe_global_balance.sh.)
#include <gtest/gtest.h>

#include "models/moe.h"
#include "parallel/recompute.h"  // defines: Checkpoint
#include "tests/unit/model_test_util.h"

namespace zen {
namespace {

constexpr int64_t kExperts = 4, kTopK = 2;
constexpr double kCoef = 0.5;

ModelSpec BalanceSpec() {
  ModelSpec spec = testing::TinySpec();
  spec.experts = kExperts;
  spec.top_k = kTopK;
  spec.expert_ffn = 16;
  return spec;
}

MoeSpec GlobalBatch() {
  MoeSpec moe;
  moe.aux_loss_coef = kCoef;
  moe.balance = "global_batch";
  return moe;
}

// Token choices per expert and summed probabilities per expert of the router on x (B, T, C), in double,
// counted with loops (not with the block's bincount).
struct RouterTally {
  std::vector<double> choices = std::vector<double>(kExperts, 0.0);
  std::vector<double> prob_sums = std::vector<double>(kExperts, 0.0);
  double tokens = 0;
};
RouterTally TallyByHand(MoeBlock& block, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const Routing r = block->Route(x.reshape({-1, x.size(-1)}));
  RouterTally t;
  t.tokens = static_cast<double>(r.probs.size(0));
  for (int64_t n = 0; n < r.probs.size(0); ++n) {
    for (int64_t j = 0; j < kTopK; ++j) t.choices[r.experts[n][j].item<int64_t>()] += 1;
    for (int64_t e = 0; e < kExperts; ++e) t.prob_sums[e] += r.probs[n][e].item<double>();
  }
  return t;
}

// coef * E * sum_e f_e P_e with f_e = choices_e / (count_tokens k) and P_e = prob_sums_e / mean_tokens.
double SwitchTerm(const std::vector<double>& choices, double count_tokens, const RouterTally& p) {
  double sum = 0;
  for (int64_t e = 0; e < kExperts; ++e) sum += choices[e] / (count_tokens * kTopK) * p.prob_sums[e] / p.tokens;
  return kCoef * kExperts * sum;
}

TEST(GlobalBatchBalance, CountsTheStepsMicroBatchesSoFarByHand) {
  torch::manual_seed(4);
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(kExperts);
  MoeBlock block(BalanceSpec(), GlobalBatch(), TpGroup{}, EpGroup{}, stats);
  // Skewed inputs so that the two micro-batches route differently.
  const torch::Tensor x1 = torch::randn({2, 8, 32}), x2 = torch::randn({2, 8, 32}) + 0.5;
  const RouterTally t1 = TallyByHand(block, x1), t2 = TallyByHand(block, x2);

  stats->Reset(kExperts);
  stats->global_batch = true;
  torch::NoGradGuard no_grad;
  block(x1);
  const double first = stats->aux_sum.item<double>();
  block(x2);
  const double second = stats->aux_sum.item<double>() - first;

  // Micro-batch 1: the window holds only it, so f and P are its own (the Switch term).
  EXPECT_NEAR(first, SwitchTerm(t1.choices, t1.tokens, t1), 1e-6);
  // Micro-batch 2: f counts both micro-batches' choices over their 64 tokens, P averages its own 32.
  std::vector<double> both(kExperts);
  for (int64_t e = 0; e < kExperts; ++e) both[e] = t1.choices[e] + t2.choices[e];
  const double want = SwitchTerm(both, t1.tokens + t2.tokens, t2);
  EXPECT_NEAR(second, want, 1e-6);
  // ... which is not the micro-batch term (the test can tell the two apart).
  EXPECT_GT(std::abs(want - SwitchTerm(t2.choices, t2.tokens, t2)), 1e-4);
}

TEST(GlobalBatchBalance, TheWindowRestartsWithEachStep) {
  torch::manual_seed(5);
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(kExperts);
  MoeBlock block(BalanceSpec(), GlobalBatch(), TpGroup{}, EpGroup{}, stats);
  const torch::Tensor x1 = torch::randn({2, 8, 32}), x2 = torch::randn({2, 8, 32}) + 0.5;
  const RouterTally t2 = TallyByHand(block, x2);
  torch::NoGradGuard no_grad;
  stats->Reset(kExperts);
  stats->global_batch = true;
  block(x1);
  stats->Reset(kExperts);  // the next step
  stats->global_batch = true;
  block(x2);
  EXPECT_NEAR(stats->aux_sum.item<double>(), SwitchTerm(t2.choices, t2.tokens, t2), 1e-6);
}

// The router's gradient of the aux terms of two micro-batches, each forward optionally checkpointed.
torch::Tensor RouterGradient(bool recompute) {
  torch::manual_seed(6);
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(kExperts);
  MoeBlock block(BalanceSpec(), GlobalBatch(), TpGroup{}, EpGroup{}, stats);
  stats->global_batch = true;
  stats->aux_scale = 0.5;
  for (int64_t m = 0; m < 2; ++m) {
    const torch::Tensor x = torch::randn({2, 8, 32}) + 0.5 * static_cast<double>(m);
    auto fn = [block](const std::vector<torch::Tensor>& in) mutable { return block(in[0]); };
    std::vector<torch::Tensor> params;
    for (const auto& p : block->parameters()) params.push_back(p);
    torch::Tensor y = recompute ? Checkpoint(fn, {x}, params) : fn({x});
    (y * 0).sum().backward();  // only the aux term reaches the router
  }
  return block->gate->weight.grad().clone();
}

TEST(GlobalBatchBalance, ARecomputingBackwardSeesTheCountsItsForwardSaw) {
  const torch::Tensor plain = RouterGradient(false), recomputed = RouterGradient(true);
  ASSERT_GT(plain.abs().max().item<double>(), 0.0);
  EXPECT_LT(testing::MaxRelativeError(recomputed, plain), 1e-6);
}

}  // namespace
}  // namespace zen

namespace zen {
namespace {

MoeSpec WithRouterBias(double rate) {
  MoeSpec moe;
  moe.router_bias_update_rate = rate;
  return moe;
}

TEST(RouterBias, IsOffByDefault) {
  auto stats = std::make_shared<MoeStats>();
  MoeBlock block(BalanceSpec(), MoeSpec{}, TpGroup{}, EpGroup{}, stats);
  EXPECT_FALSE(block->router_bias.defined());
  EXPECT_EQ(block->named_buffers().find("router_bias"), nullptr);  // checkpoints of such a model are unchanged
}

TEST(RouterBias, MovesAgainstTheLoadByTheRate) {
  auto stats = std::make_shared<MoeStats>();
  MoeBlock block(BalanceSpec(), WithRouterBias(0.1), TpGroup{}, EpGroup{}, stats);
  ASSERT_TRUE(block->router_bias.defined());
  ASSERT_NE(block->named_buffers().find("router_bias"), nullptr);
  // Mean load 5: expert 0 is over it (bias down), 1 under (up), 2 and 3 at it (unchanged).
  block->UpdateRouterBias(torch::tensor({12.0, 0.0, 4.0, 4.0}));
  block->UpdateRouterBias(torch::tensor({8.0, 2.0, 5.0, 5.0}));
  const std::vector<float> want = {-0.2f, 0.2f, 0.1f, 0.1f};  // the second update: 2, 3 under the mean 5
  for (int64_t e = 0; e < kExperts; ++e) EXPECT_NEAR(block->router_bias[e].item<float>(), want[e], 1e-7) << e;
}

TEST(RouterBias, ChoosesTheExpertsButLeavesTheWeightsTheProbabilities) {
  torch::manual_seed(7);
  auto stats = std::make_shared<MoeStats>();
  MoeBlock block(BalanceSpec(), WithRouterBias(0.1), TpGroup{}, EpGroup{}, stats);
  const torch::Tensor x = torch::randn({16, 32});
  const Routing before = block->Route(x);
  {
    torch::NoGradGuard no_grad;
    block->router_bias.copy_(torch::tensor({0.0f, 0.0f, 0.0f, 10.0f}));  // expert 3 always chosen
  }
  const Routing after = block->Route(x);
  EXPECT_TRUE(torch::equal(after.probs, before.probs));  // the scores themselves are untouched
  for (int64_t n = 0; n < 16; ++n) {
    const torch::Tensor chosen = after.experts[n];
    EXPECT_TRUE((chosen == 3).any().item<bool>()) << n;
    // The other choice is the most probable of experts 0-2.
    const int64_t other = chosen[0].item<int64_t>() == 3 ? chosen[1].item<int64_t>() : chosen[0].item<int64_t>();
    EXPECT_EQ(other, before.probs[n].slice(0, 0, 3).argmax().item<int64_t>()) << n;
    // Weights: the chosen experts' probabilities, renormalised, with no trace of the bias.
    const torch::Tensor p = before.probs[n].index_select(0, chosen);
    EXPECT_LT((after.weights[n] - p / p.sum()).abs().max().item<float>(), 1e-6) << n;
  }
  // The weights carry the router's gradient; the bias gets none (a buffer).
  (after.weights * torch::randn_like(after.weights)).sum().backward();
  EXPECT_TRUE(block->gate->weight.grad().defined());
  EXPECT_FALSE(block->router_bias.requires_grad());
}

}  // namespace
}  // namespace zen
