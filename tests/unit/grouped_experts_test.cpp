// Grouped expert compute (models/grouped_experts.h) against the per-expert loop it replaces: the grouped
// linear on its two paths (at::_grouped_mm and the padded bmm), and the MoE block with LoRA on every
// expert projection, forward and backward, also with experts that get no rows and with capacity dropping.
// (Under expert parallelism: tests/mpi/expert_parallel_test.cpp.)
#include <gtest/gtest.h>

#include "models/grouped_experts.h"
#include "models/moe.h"
#include "tests/unit/model_test_util.h"

namespace zen {
namespace {

// x: (R, in) in blocks of rows_per_expert rows, w: (E, out, in): each block times its w^T, one by one.
torch::Tensor BlockByBlock(const torch::Tensor& x, const torch::Tensor& w, const std::vector<int64_t>& rows) {
  std::vector<torch::Tensor> out;
  int64_t offset = 0;
  for (size_t e = 0; e < rows.size(); ++e) {
    out.push_back(torch::matmul(x.narrow(0, offset, rows[e]), w[static_cast<int64_t>(e)].t()));
    offset += rows[e];
  }
  return torch::cat(out);
}

TEST(GroupedLinear, EqualsEachBlockTimesItsExpertsWeight) {
  torch::manual_seed(0);
  const std::vector<int64_t> rows = {3, 0, 7, 1};  // an expert without rows
  // 16-wide (aligned: at::_grouped_mm where it runs) and 6-wide (the padded bmm).
  for (int64_t width : {16, 6}) {
    torch::Tensor x = torch::randn({11, width}, torch::kFloat64).to(torch::kFloat32).requires_grad_(true);
    torch::Tensor w = torch::randn({4, 8, width}).requires_grad_(true);
    torch::Tensor g = torch::randn({11, 8});
    torch::Tensor got = GroupedLinear(x, w, rows);
    (got * g).sum().backward();
    torch::Tensor gx = x.grad().clone(), gw = w.grad().clone();
    x.mutable_grad() = torch::Tensor();
    w.mutable_grad() = torch::Tensor();
    torch::Tensor want = BlockByBlock(x, w, rows);
    (want * g).sum().backward();
    EXPECT_LT(testing::MaxRelativeError(got, want), 1e-6) << width;
    EXPECT_LT(testing::MaxRelativeError(gx, x.grad()), 1e-6) << width;
    EXPECT_LT(testing::MaxRelativeError(gw, w.grad()), 1e-6) << width;
    EXPECT_EQ(gw[1].abs().sum().item<float>(), 0.0f);  // the expert without rows: a zero gradient
  }
}

ModelSpec GroupSpec() {
  ModelSpec spec = testing::TinySpec();
  spec.experts = 8;
  spec.top_k = 3;
  spec.expert_ffn = 16;
  return spec;
}

// The block's output and every gradient (input, router, experts, adapters), grouped or one by one.
std::vector<torch::Tensor> OutputAndGradients(bool loop, const MoeSpec& moe, int64_t lora_rank, bool skewed) {
  torch::manual_seed(1);
  auto stats = std::make_shared<MoeStats>();
  stats->Reset(8);
  MoeBlock block(GroupSpec(), moe, TpGroup{}, EpGroup{}, stats);
  for (Qwen3Mlp& e : block->experts) {
    for (ParallelLinearBase* l : {static_cast<ParallelLinearBase*>(e->gate_proj.get()),
                                  static_cast<ParallelLinearBase*>(e->up_proj.get()),
                                  static_cast<ParallelLinearBase*>(e->down_proj.get())}) {
      l->AttachLora(lora_rank, /*scale=*/2.0, /*dropout=*/0.0);
      torch::NoGradGuard no_grad;
      l->lora_B.normal_(0.0, 0.2);  // B = 0 would leave the adapters out of the output
    }
  }
  if (skewed) {  // experts 0-2 take every token: the other five get no rows
    torch::NoGradGuard no_grad;
    block->gate->weight.zero_();
    block->gate->weight.slice(0, 0, 3).fill_(1.0);
  }
  EXPECT_TRUE(CanGroupExperts(block->experts));
  block->UsePerExpertLoop(loop);
  torch::Tensor x = (torch::rand({2, 12, 32}) + (skewed ? 0.1 : -0.5)).requires_grad_(true);
  torch::Tensor y = block(x);
  (y * torch::randn_like(y)).sum().backward();
  std::vector<torch::Tensor> out = {y.detach(), x.grad()};
  for (const auto& p : block->named_parameters()) out.push_back(p.value().grad());
  return out;
}

void ExpectGroupedEqualsLoop(const MoeSpec& moe, int64_t lora_rank, bool skewed) {
  const auto grouped = OutputAndGradients(false, moe, lora_rank, skewed);
  const auto loop = OutputAndGradients(true, moe, lora_rank, skewed);
  ASSERT_EQ(grouped.size(), loop.size());
  for (size_t i = 0; i < grouped.size(); ++i) {
    ASSERT_TRUE(grouped[i].defined() && loop[i].defined()) << "tensor " << i;
    EXPECT_LT(testing::MaxRelativeError(grouped[i], loop[i]), 1e-6) << "tensor " << i;
  }
}

TEST(GroupedExperts, EqualThePerExpertLoopWithLoraOnEveryProjection) {
  ExpectGroupedEqualsLoop(MoeSpec{}, /*lora_rank=*/4, /*skewed=*/false);
}

TEST(GroupedExperts, EqualThePerExpertLoopWithIdleExpertsAndUnalignedRank) {
  ExpectGroupedEqualsLoop(MoeSpec{}, /*lora_rank=*/3, /*skewed=*/true);  // rank 3: the padded bmm
}

TEST(GroupedExperts, EqualThePerExpertLoopWhenCapacityDrops) {
  MoeSpec moe;
  moe.capacity_factor = 0.5;
  ExpectGroupedEqualsLoop(moe, /*lora_rank=*/4, /*skewed=*/true);
}

}  // namespace
}  // namespace zen
