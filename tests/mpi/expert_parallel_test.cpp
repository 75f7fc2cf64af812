// Expert parallelism under mpirun: an MoE block whose experts are spread over every rank gives each rank
// the outputs, input gradients and (for the experts it holds) weight gradients that one process holding
// all experts computes for all ranks' tokens, also when routing sends every token to one rank's expert.
#include <gtest/gtest.h>

#include "models/init.h"
#include "models/moe.h"
#include "parallel/communicator.h"

namespace zen {
namespace {

Communicator& World() {
  static std::unique_ptr<Communicator> world = MpiWorld(/*timeout_s=*/60);
  return *world;
}

ModelSpec Spec() {
  ModelSpec spec;
  spec.hidden = 16;
  spec.heads = 2;
  spec.experts = 4;
  spec.top_k = 2;
  spec.expert_ffn = 8;
  return spec;
}

// Rank q's tokens and output weights, the same on every rank that asks.
std::pair<torch::Tensor, torch::Tensor> TokensOf(int64_t rank) {
  torch::manual_seed(100 + rank);
  return {torch::rand({1, 6 + 3 * rank, 16}) + 0.05, torch::randn({1, 6 + 3 * rank, 16})};
}

MoeBlock Build(const EpGroup& ep, bool forced, std::shared_ptr<MoeStats> stats) {
  MoeBlock block(Spec(), MoeSpec{}, TpGroup{}, ep, std::move(stats));
  InitParameters(*block, /*seed=*/7, TpGroup{});  // by name: expert e holds the same numbers on any rank
  if (forced) {  // every token picks experts 0 and 1, both on rank 0
    torch::NoGradGuard no_grad;
    block->gate->weight.zero_();
    block->gate->weight[0].fill_(10.0);
    block->gate->weight[1].fill_(5.0);
  }
  return block;
}

void ExpectExpertParallelMatchesOneProcess(bool forced) {
  Communicator& w = World();
  if (Spec().experts % w.size() != 0) GTEST_SKIP() << "4 experts do not split over " << w.size() << " ranks";
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(4);
  // Reference: all experts, every rank's tokens, one process.
  MoeBlock whole = Build(EpGroup{}, forced, stats);
  torch::Tensor want_y, want_dx;
  for (int64_t q = 0; q < w.size(); ++q) {
    auto [x, weight] = TokensOf(q);
    x.requires_grad_(true);
    torch::Tensor y = whole(x);
    (y * weight).sum().backward();
    if (q == w.rank()) want_y = y.detach(), want_dx = x.grad();
  }
  // Expert parallel: this rank's tokens, its experts.
  MoeBlock mine = Build(EpGroup{&w, w.rank(), w.size()}, forced, stats);
  auto [x, weight] = TokensOf(w.rank());
  x.requires_grad_(true);
  torch::Tensor y = mine(x);
  (y * weight).sum().backward();
  EXPECT_TRUE(torch::allclose(y, want_y, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(x.grad(), want_dx, 1e-5, 1e-6));
  // The router is whole on every rank: its gradient here is this rank's tokens' share; summed over ranks
  // it is the reference's.
  torch::Tensor router_grad = mine->gate->weight.grad().clone();
  w.AllReduceSum(router_grad);
  EXPECT_TRUE(torch::allclose(router_grad, whole->gate->weight.grad(), 1e-4, 1e-6));
  const int64_t local = 4 / w.size();
  for (int64_t j = 0; j < local; ++j) {
    const int64_t e = w.rank() * local + j;
    for (const char* name : {"gate_proj", "up_proj", "down_proj"}) {
      auto got = mine->experts[j]->named_parameters()[std::string(name) + ".weight"].grad();
      auto want = whole->experts[e]->named_parameters()[std::string(name) + ".weight"].grad();
      ASSERT_TRUE(got.defined()) << "expert " << e << " " << name;
      EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-6)) << "expert " << e << " " << name;
    }
  }
}

TEST(ExpertParallel, SpreadExpertsComputeWhatOneProcessHoldingAllComputes) {
  ExpectExpertParallelMatchesOneProcess(/*forced=*/false);
}

TEST(ExpertParallel, EveryTokenRoutedToOneRanksExpertsStillMatches) {
  ExpectExpertParallelMatchesOneProcess(/*forced=*/true);
}

// Grouped expert compute under expert parallelism: the same spread experts (LoRA on all three projections,
// its B random so that the adapters act) run as grouped GEMMs and one by one give the same outputs, input
// gradients and expert and adapter gradients on every rank.
TEST(ExpertParallel, GroupedExpertsComputeWhatThePerExpertLoopComputes) {
  Communicator& w = World();
  if (Spec().experts % w.size() != 0) GTEST_SKIP() << "4 experts do not split over " << w.size() << " ranks";
  auto run = [&](bool loop) {
    auto stats = std::make_shared<MoeStats>();
    stats->Reset(4);
    MoeBlock block = Build(EpGroup{&w, w.rank(), w.size()}, /*forced=*/false, stats);
    torch::manual_seed(11);
    for (Qwen3Mlp& e : block->experts) {
      for (ParallelLinearBase* l : {static_cast<ParallelLinearBase*>(e->gate_proj.get()),
                                    static_cast<ParallelLinearBase*>(e->up_proj.get()),
                                    static_cast<ParallelLinearBase*>(e->down_proj.get())}) {
        l->AttachLora(/*rank=*/4, /*scale=*/2.0, /*dropout=*/0.0);
        torch::NoGradGuard no_grad;
        l->lora_B.normal_(0.0, 0.1);
      }
    }
    block->UsePerExpertLoop(loop);
    auto [x, weight] = TokensOf(w.rank());
    x.requires_grad_(true);
    torch::Tensor y = block(x);
    (y * weight).sum().backward();
    std::vector<torch::Tensor> out = {y.detach(), x.grad()};
    for (const auto& p : block->named_parameters()) {
      if (p.value().grad().defined()) out.push_back(p.value().grad());
    }
    return out;
  };
  const std::vector<torch::Tensor> grouped = run(false), loop = run(true);
  ASSERT_EQ(grouped.size(), loop.size());
  ASSERT_GT(grouped.size(), 2u + 4 / w.size() * 6);  // the adapters' gradients are there
  for (size_t i = 0; i < grouped.size(); ++i) {
    const double scale = std::max(loop[i].abs().max().item<double>(), 1e-30);
    EXPECT_LT((grouped[i] - loop[i]).abs().max().item<double>() / scale, 1e-6) << "tensor " << i;
  }
}

}  // namespace
}  // namespace zen
