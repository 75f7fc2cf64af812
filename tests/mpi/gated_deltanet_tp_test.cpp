// Under mpirun (2 ranks, tp = 2): Qwen3-Next's Gated DeltaNet split by key-head group equals one process's,
// on packed documents, in its output, in every gradient (split ones: this rank's slice; partial ones, the
// conv weight and the gated norm, summed over tp) and the global gradient norm, and in step-by-step decoding
// with the recurrent state; and the gated attention split by heads equals one process's. Both sides are
// initialised by InitParameters from one seed, so A_log's log-uniform draw is sliced like the heads.
#include <cmath>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "models/gated_deltanet.h"
#include "models/init.h"  // defines: InitParameters
#include "models/qwen3_next_blocks.h"
#include "parallel/communicator.h"
#include "parallel/layers.h"        // defines: TpShard
#include "parallel/param_info.h"    // defines: ParamInfos
#include "parallel/tp_gradients.h"  // defines: GroupByTpSplit, AllReducePartialGradients, LocalSquaredGradNorm

namespace zen {
namespace {

Communicator& World() {
  static std::unique_ptr<Communicator> world = MpiWorld(/*timeout_s=*/60);
  return *world;
}

GatedDeltaNetSpec Spec() {
  GatedDeltaNetSpec spec;
  spec.hidden = 32, spec.key_heads = 2, spec.value_heads = 4, spec.key_head_dim = 8, spec.value_head_dim = 12;
  spec.chunk = 16;  // several chunks on a short sequence
  return spec;
}

double MaxRelativeError(const torch::Tensor& got, const torch::Tensor& want) {
  const double scale = std::max(want.abs().max().item<double>(), 1e-30);
  return (got.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>() / scale;
}

TEST(GatedDeltaNetTp, HeadShardedLayerEqualsOneProcessOnPackedDocuments) {
  Communicator& w = World();
  if (w.size() != 2) GTEST_SKIP() << "a two-rank test";
  const TpGroup tp{&w, w.rank(), 2};
  GatedDeltaNet whole(Spec(), TpGroup{}), mine(Spec(), tp);
  InitParameters(*whole, /*seed=*/21, TpGroup{});
  InitParameters(*mine, /*seed=*/21, tp);
  const auto infos = ParamInfos(*mine);
  ASSERT_EQ(mine->A_log.size(0), 2);
  {
    auto want = whole->named_parameters();
    for (const auto& p : mine->named_parameters()) {
      EXPECT_TRUE(torch::equal(p.value(), TpShard(want[p.key()], infos.at(p.key()).split_dim, tp))) << p.key();
    }
  }

  torch::manual_seed(2);  // the same inputs on both ranks
  const torch::Tensor x = torch::randn({2, 45, 32});
  torch::Tensor documents = torch::zeros({2, 45}, torch::kLong);
  documents[0].narrow(0, 20, 25).fill_(1);
  documents[1].narrow(0, 7, 30).fill_(1);
  documents[1].narrow(0, 37, 8).fill_(2);
  const torch::Tensor dy = torch::randn({2, 45, 32});
  const torch::Tensor y_whole = whole->Mix(x, documents), y_mine = mine->Mix(x, documents);
  EXPECT_LE(MaxRelativeError(y_mine, y_whole), 1e-5);
  (y_whole * dy).sum().backward();
  (y_mine * dy).sum().backward();

  std::vector<std::pair<std::string, torch::Tensor>> trainable;
  for (const auto& p : mine->named_parameters()) trainable.emplace_back(p.key(), p.value());
  const TpParamGroups groups = GroupByTpSplit(trainable, infos);
  AllReducePartialGradients(groups, w);
  auto want = whole->named_parameters();
  for (const auto& p : mine->named_parameters()) {
    const torch::Tensor expected = TpShard(want[p.key()].grad(), infos.at(p.key()).split_dim, tp);
    EXPECT_LE(MaxRelativeError(p.value().grad(), expected), 1e-5) << "gradient of " << p.key();
  }
  torch::Tensor squared = torch::full({1}, LocalSquaredGradNorm(groups, tp.size), torch::kDouble);
  w.AllReduceSum(squared);
  double want_squared = 0;
  for (const auto& p : whole->parameters()) want_squared += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
  EXPECT_NEAR(std::sqrt(squared.item<double>()), std::sqrt(want_squared), 1e-6 * std::sqrt(want_squared));

  // Generation: prefill then single steps, each rank holding its heads' conv window and state.
  torch::NoGradGuard no_grad;
  const torch::Tensor prompt = x[0].unsqueeze(0);
  RecurrentState cache;
  std::vector<torch::Tensor> pieces = {mine->Mix(prompt.narrow(1, 0, 20), {}, &cache)};
  EXPECT_EQ(cache.state.size(1), 2);
  for (int64_t i = 20; i < 45; ++i) pieces.push_back(mine->Mix(prompt.narrow(1, i, 1), {}, &cache));
  EXPECT_LE(MaxRelativeError(torch::cat(pieces, 1), whole->Mix(prompt)), 1e-5);
}

TEST(GatedDeltaNetTp, GatedAttentionSplitByHeadsEqualsOneProcess) {
  Communicator& w = World();
  if (w.size() != 2) GTEST_SKIP() << "a two-rank test";
  const TpGroup tp{&w, w.rank(), 2};
  ModelSpec spec;
  spec.hidden = 32, spec.heads = 4, spec.kv_heads = 2, spec.head_dim = 16;
  GatedAttention whole(spec, RotaryDim(16, 0.25), TpGroup{}), mine(spec, RotaryDim(16, 0.25), tp);
  InitParameters(*whole, /*seed=*/22, TpGroup{});
  InitParameters(*mine, /*seed=*/22, tp);
  torch::NoGradGuard no_grad;
  for (auto& p : whole->named_parameters()) {
    if (p.key().find("norm") != std::string::npos) p.value().normal_(0.0, 0.3);  // not the zero init
  }
  for (auto& p : mine->named_parameters()) {
    if (p.key().find("norm") != std::string::npos) p.value().copy_(whole->named_parameters()[p.key()]);
  }
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, 9, 32});
  const Rope rope = MakeRope(torch::arange(9).unsqueeze(0).expand({2, 9}), RotaryDim(16, 0.25), 1e4, torch::kFloat32);
  EXPECT_LE(MaxRelativeError(mine->Attend(x, rope, {}), whole->Attend(x, rope, {})), 1e-5);
}

}  // namespace
}  // namespace zen
