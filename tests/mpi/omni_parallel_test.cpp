// Zen-Omni under mpirun (2 ranks): tensor parallelism (tp = 2, encoders' and cross-attention's heads split)
// and expert parallelism (ep = 2, encoders replicated) give one process's loss and gradients on a tiny
// Zen-Omni with synthetic images, video frames and audio in placeholder runs.
#include <mpi.h>

#include <gtest/gtest.h>

#include "models/qwen3.h"
#include "parallel/communicator.h"
#include "parallel/layers.h"               // defines: TpSplitDims, TpShard
#include "tests/unit/omni_test_util.h"     // defines: TinyOmniSpec, TinyOmniBatch

namespace zen {
namespace {

Communicator& World() {
  static std::unique_ptr<Communicator> world = MpiWorld(/*timeout_s=*/60);
  return *world;
}

// The mean next-token loss of `batch` with every gradient left in the model's parameters.
double LossAndBackward(Qwen3& model, const Batch& batch) {
  const MediaInputs media{batch.images, batch.video_frames, batch.audios};
  auto loss = model->loss_sum(model->forward(batch.tokens, batch.positions, {}, media), batch.labels) /
              batch.LossTokens();
  loss.backward();
  return loss.item<double>();
}

Qwen3 Build(const TpGroup& tp = {}, const EpGroup& ep = {}) {
  torch::manual_seed(21);  // the same seed everywhere: every layout holds the same numbers
  const ModelSpec spec = testing::TinyOmniSpec();
  return Qwen3(spec, tp, StageRange::Whole(spec), MoeSpec{}, ep);
}

// Every non-expert gradient of `mine` equals the reference's (this rank's slice where split).
void ExpectSameGradients(Qwen3& mine, Qwen3& whole, const TpGroup& tp) {
  const auto split_dims = TpSplitDims(*mine);
  const auto infos = ParamInfos(*mine);
  auto want = whole->named_parameters();
  int64_t compared = 0;
  for (const auto& p : mine->named_parameters()) {
    if (!p.value().requires_grad() || p.key().find(".mlp.experts.") != std::string::npos) continue;
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    auto expected = TpShard(want[p.key()].grad(), split_dims.at(p.key()), tp);
    torch::Tensor got = p.value().grad().clone();
    // Gradients declared partial over tp (the per-head q/k norms see only this rank's heads, the router only
    // this rank's share of the tokens) are summed by the trainer (AllReducePartialGradients).
    if (infos.at(p.key()).grad_partial_over.tp && tp.size > 1) tp.comm->AllReduceSum(got);
    EXPECT_TRUE(torch::allclose(got, expected, 1e-4, 1e-6)) << p.key();
    ++compared;
  }
  EXPECT_GT(compared, 30);
}

TEST(OmniParallel, TensorParallelTwoRanksMatchOneProcess) {
  Communicator& w = World();
  if (w.size() != 2) GTEST_SKIP() << "a two-rank test";
  const Batch batch = testing::TinyOmniBatch(testing::TinyOmniSpec(), /*seed=*/5);
  Qwen3 whole = Build();
  const double want = LossAndBackward(whole, batch);
  const TpGroup tp{&w, w.rank(), 2};
  Qwen3 mine = Build(tp);
  const double got = LossAndBackward(mine, batch);
  EXPECT_NEAR(got, want, 1e-5 * want);
  ExpectSameGradients(mine, whole, tp);
}

TEST(OmniParallel, ExpertParallelTwoRanksMatchOneProcessOnEachRanksBatch) {
  Communicator& w = World();
  if (w.size() != 2) GTEST_SKIP() << "a two-rank test";
  const Batch batch = testing::TinyOmniBatch(testing::TinyOmniSpec(), /*seed=*/5 + w.rank());
  Qwen3 whole = Build();
  const double want = LossAndBackward(whole, batch);
  Qwen3 mine = Build(TpGroup{}, EpGroup{&w, w.rank(), 2});
  const double got = LossAndBackward(mine, batch);
  EXPECT_NEAR(got, want, 1e-5 * want);
  ExpectSameGradients(mine, whole, TpGroup{});
}

}  // namespace
}  // namespace zen
