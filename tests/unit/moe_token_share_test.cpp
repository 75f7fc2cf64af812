// The load-balancing term of a MoE layer whose tokens are routed in shares (one per tensor-parallel rank,
// parallel/expert_tokens.h): each share's part, computed with the counts of all shares, adds up to the
// term one process computes over all the tokens, and so does its gradient on the router's probabilities.
#include <gtest/gtest.h>

#include "models/moe.h"  // defines: LoadBalancingLoss

namespace zen {
namespace {

TEST(MoeTokenShares, LoadBalancingPartsOfUnevenSharesAddUpToTheLayersTerm) {
  torch::manual_seed(3);
  const int64_t tokens = 7, experts = 4, k = 2;
  torch::Tensor probs = torch::softmax(torch::randn({tokens, experts}), -1).requires_grad_(true);
  torch::Tensor chosen = std::get<1>(probs.detach().topk(k, -1));  // (N, k)
  torch::Tensor whole = LoadBalancingLoss(probs, chosen, experts, 0.01);
  torch::Tensor whole_grad = torch::autograd::grad({whole}, {probs})[0];

  torch::Tensor counts = torch::bincount(chosen.reshape(-1), {}, experts);  // what SumOverTokenShares gives
  torch::Tensor sum = torch::zeros({});
  for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, 3}, {3, 7}}) {  // shares of 3 and 4 tokens
    sum = sum + LoadBalancingLoss(probs.slice(0, begin, end), counts, static_cast<double>(tokens), k, 0.01);
  }
  torch::Tensor parts_grad = torch::autograd::grad({sum}, {probs})[0];
  EXPECT_NEAR(sum.item<double>(), whole.item<double>(), 1e-9);
  EXPECT_TRUE(torch::allclose(parts_grad, whole_grad, 1e-6, 1e-9)) << parts_grad << whole_grad;
  // An empty share adds nothing (a tp rank may route no token when N < tp).
  EXPECT_EQ(LoadBalancingLoss(probs.slice(0, 0, 0), counts, static_cast<double>(tokens), k, 0.01).item<double>(), 0.0);
}

}  // namespace
}  // namespace zen
