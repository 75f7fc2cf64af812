// Under mpirun (2 ranks, tp = 2): a head-sharded parameter that is not a linear's (an A_log-like per-head
// vector, as Gated DeltaNet has) is split, saved, resharded, loaded from a Hugging Face-style file and
// counted in the gradient norm correctly, from nothing but the ParamInfo its module declares.
#include <mpi.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "checkpoints/checkpoint.h"     // defines: SaveCheckpoint, CheckpointReader
#include "checkpoints/hf_checkpoint.h"  // defines: SaveHfWeights, LoadHfWeights
#include "checkpoints/tp_slice.h"       // defines: TpSlice
#include "models/init.h"                // defines: InitParameters
#include "models/qwen3_blocks.h"        // defines: RmsNorm
#include "parallel/communicator.h"
#include "parallel/layers.h"            // defines: ColumnParallelLinear, RowParallelLinear, TpShard
#include "parallel/param_info.h"        // defines: ParamModule, ParamInfos
#include "parallel/tp_gradients.h"      // defines: GroupByTpSplit, LocalSquaredGradNorm

namespace zen {
namespace {

constexpr int64_t kHidden = 16, kHeads = 4, kHeadDim = 4;

Communicator& World() {
  static std::unique_ptr<Communicator> world = MpiWorld(/*timeout_s=*/60);
  return *world;
}

// A per-head decay in the shape of Gated DeltaNet's: heads come from a column-parallel projection, each
// is normalised (a per-head norm: its gradient is partial over tp) and scaled by exp(-exp(A_log[h])),
// and a row-parallel projection sums them. A_log (heads) is split by heads like the projections.
// x: (N, hidden) -> (N, hidden).
class HeadDecayImpl : public ParamModule {
 public:
  explicit HeadDecayImpl(const TpGroup& tp) : local_heads_(kHeads / tp.size) {
    in_proj = register_module("in_proj", ColumnParallelLinear(kHidden, kHeads * kHeadDim, tp));
    GroupSet per_head;
    per_head.tp = true;
    norm = register_module("norm", RmsNorm(kHeadDim, 1e-6, per_head));
    ParamInfo a_log;
    a_log.split_dim = 0;  // one entry per head
    A_log = RegisterParameter("A_log", torch::empty({local_heads_}), a_log);
    out_proj = register_module("out_proj", RowParallelLinear(kHeads * kHeadDim, kHidden, tp));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t n = x.size(0);
    auto heads = norm(in_proj(x).view({n, local_heads_, kHeadDim}));   // (N, H/tp, hd)
    auto decayed = heads * torch::exp(-torch::exp(A_log)).unsqueeze(-1);  // (N, H/tp, hd)
    return out_proj(decayed.reshape({n, local_heads_ * kHeadDim}));
  }

  ColumnParallelLinear in_proj{nullptr};
  RmsNorm norm{nullptr};
  RowParallelLinear out_proj{nullptr};
  torch::Tensor A_log;  // (H/tp)

 private:
  int64_t local_heads_;
};
TORCH_MODULE(HeadDecay);

HeadDecay Build(const TpGroup& tp, uint64_t seed) {
  HeadDecay module(tp);
  InitParameters(*module, seed, tp);
  return module;
}

// A folder every rank names alike: rank 0's pid, broadcast.
std::string SharedScratch(const std::string& what) {
  torch::Tensor pid = torch::full({1}, static_cast<int64_t>(getpid()), torch::kLong);
  World().Broadcast(pid, 0);
  return ::testing::TempDir() + "zen_param_info_" + what + "_" + std::to_string(pid.item<int64_t>());
}

void ExpectEachIsMySlice(HeadDecay& mine, HeadDecay& whole, const TpGroup& tp, const std::string& what) {
  const auto infos = ParamInfos(*mine);
  auto want = whole->named_parameters();
  for (const auto& p : mine->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), TpShard(want[p.key()], infos.at(p.key()).split_dim, tp))) << what << ": " << p.key();
  }
}

TEST(ParamInfo, HeadShardedVectorIsSplitSavedReshardedLoadedAndNormedUnderTensorParallelism) {
  Communicator& w = World();
  if (w.size() != 2) GTEST_SKIP() << "a two-rank test";
  const TpGroup tp{&w, w.rank(), 2};
  HeadDecay whole = Build(TpGroup{}, /*seed=*/11);
  HeadDecay mine = Build(tp, /*seed=*/11);

  // Split: this rank holds its heads' entries, the same numbers as one process's.
  EXPECT_EQ(ParamInfos(*mine).at("A_log").split_dim, 0);
  ASSERT_EQ(mine->A_log.size(0), kHeads / 2);
  ExpectEachIsMySlice(mine, whole, tp, "split");

  // Saved by both ranks (each its slice; tp rank 0 what is whole), read back whole, resharded to tp = 1
  // and to a fresh tp = 2 model.
  const std::string root = SharedScratch("checkpoint");
  std::vector<SavedSlice> slices;
  for (const auto& [name, info] : ParamInfos(*mine)) {
    if (info.split_dim < 0 && tp.rank != 0) continue;
    slices.push_back(TpSlice("model/" + name, mine->named_parameters()[name], info.split_dim, tp));
  }
  CheckpointInfo info;
  info.step = 1;
  info.layout = CheckpointLayout{2, 2, 1, 1, 1, 0};
  ASSERT_TRUE(SaveCheckpoint(root, info, slices, w, /*keep=*/0).ok());
  auto dir = LatestCheckpoint(root);
  ASSERT_TRUE(dir.ok()) << dir.status();
  auto reader = CheckpointReader::Open(*dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  HeadDecay one = Build(TpGroup{}, /*seed=*/99), two = Build(tp, /*seed=*/99);
  {
    torch::NoGradGuard no_grad;
    const auto infos = ParamInfos(*two);
    for (auto& p : one->named_parameters()) {
      auto full = reader->Full("model/" + p.key());
      ASSERT_TRUE(full.ok()) << full.status();
      EXPECT_TRUE(torch::equal(*full, whole->named_parameters()[p.key()])) << p.key();
      p.value().copy_(*full);
      two->named_parameters()[p.key()].copy_(TpShard(*full, infos.at(p.key()).split_dim, tp));
    }
  }
  ExpectEachIsMySlice(one, whole, TpGroup{}, "resharded to tp=1");
  ExpectEachIsMySlice(two, whole, tp, "resharded to tp=2");

  // Loaded from a Hugging Face-style safetensors file of the whole model: each rank reads its slice.
  const std::string hf = SharedScratch("hf");
  if (w.rank() == 0) ASSERT_TRUE(SaveHfWeights(hf, *whole).ok());
  w.Barrier();
  HeadDecay loaded = Build(tp, /*seed=*/5);
  ASSERT_TRUE(LoadHfWeights(hf, *loaded, tp).ok());
  ExpectEachIsMySlice(loaded, whole, tp, "HF load");

  // Gradients: each rank's A_log gradient is its slice of one process's, the per-head norm's partial sums
  // add up to one process's, and the global norm from every rank's share equals one process's norm.
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({6, kHidden});
  whole(x).pow(2).sum().backward();
  mine(x).pow(2).sum().backward();
  std::vector<std::pair<std::string, torch::Tensor>> trainable;
  for (const auto& p : mine->named_parameters()) trainable.emplace_back(p.key(), p.value());
  const TpParamGroups groups = GroupByTpSplit(trainable, ParamInfos(*mine));
  AllReducePartialGradients(groups, w);
  const auto infos = ParamInfos(*mine);
  auto want = whole->named_parameters();
  for (const auto& p : mine->named_parameters()) {
    const torch::Tensor expected = TpShard(want[p.key()].grad(), infos.at(p.key()).split_dim, tp);
    EXPECT_TRUE(torch::allclose(p.value().grad(), expected, 1e-5, 1e-6)) << "gradient of " << p.key();
  }
  torch::Tensor squared = torch::full({1}, LocalSquaredGradNorm(groups, tp.size), torch::kDouble);
  w.AllReduceSum(squared);
  double want_squared = 0;
  for (const auto& p : whole->parameters()) want_squared += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
  EXPECT_NEAR(std::sqrt(squared.item<double>()), std::sqrt(want_squared), 1e-6 * std::sqrt(want_squared));
  w.Barrier();
  if (w.rank() == 0) {
    RemoveTree(root);
    RemoveTree(hf);
  }
}

}  // namespace
}  // namespace zen
