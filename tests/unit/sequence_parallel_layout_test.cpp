// The layout rules of sequence parallelism and of experts folded over tensor parallelism (parallel/grid.h):
// which rank holds which experts, and which recipes CheckLayout refuses, naming the key.
#include <gtest/gtest.h>

#include "core/recipe_loader.h"
#include "parallel/grid.h"  // defines: CheckLayout, Locate

namespace zen {
namespace {

const std::string kNano = std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-nano-lora.yaml";

Recipe NanoWith(const std::vector<std::string>& overrides) {
  std::vector<std::string> all = {"train.global_batch_size=8", "train.micro_batch_size=1", "train.seq_len=64"};
  all.insert(all.end(), overrides.begin(), overrides.end());  // later overrides win
  auto loaded = LoadRecipe(kNano, all);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded->recipe;
}

Recipe MoeWith(std::vector<std::string> overrides) {
  overrides.insert(overrides.end(), {"model.experts=8", "model.top_k=2", "model.expert_ffn=32"});
  return NanoWith(overrides);
}

void ExpectRefusal(const absl::Status& status, const std::string& says) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(std::string(status.message()).find(says), std::string::npos) << status.message();
}

TEST(ExpertFolding, AnExpertGroupIsConsecutiveRanksOfAStageTensorRanksFirst) {
  Layout l;
  l.tp = 2, l.pp = 2, l.dp = 2, l.ep = 4;  // 8 ranks; a stage's 4 ranks hold the 4 expert shares once
  for (int64_t rank = 0; rank < 8; ++rank) {
    const Coordinates c = Locate(l, rank);
    EXPECT_EQ(c.pp, rank / 4);
    EXPECT_EQ(c.ep, rank % 4) << "rank " << rank;  // tp 0 and tp 1 of one dp replica hold different experts
    EXPECT_EQ(c.edp, 0);
  }
  l.ep = 2, l.pp = 1;  // 4 ranks: the expert group is the tp pair, the two dp replicas hold the same experts
  for (int64_t rank = 0; rank < 4; ++rank) {
    const Coordinates c = Locate(l, rank);
    EXPECT_EQ(c.ep, c.tp);
    EXPECT_EQ(c.edp, c.dp);
  }
  l.tp = 1, l.dp = 4;  // without tp: the fast index inside dp, as before folding
  for (int64_t rank = 0; rank < 4; ++rank) EXPECT_EQ(Locate(l, rank).ep, rank % 2);
}

TEST(ExpertFolding, TheExpertDegreeMayReachTensorTimesDataParallel) {
  auto layout = CheckLayout(MoeWith({"parallel.tensor=2", "parallel.expert=4"}), 4);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->dp, 2);
  EXPECT_EQ(layout->ep, 4);
  EXPECT_TRUE(CheckLayout(MoeWith({"parallel.tensor=2", "parallel.expert=2"}), 2).ok());
  ExpectRefusal(CheckLayout(MoeWith({"parallel.tensor=2", "parallel.expert=8"}), 4).status(),
                "parallel.expert=8: the ranks of a pipeline stage");
}

TEST(SequenceParallel, NeedsTensorParallelismAndADivisibleSequence) {
  EXPECT_TRUE(CheckLayoutShapes(NanoWith({"parallel.tensor=2", "parallel.sequence=true"})).ok());
  ExpectRefusal(CheckLayoutShapes(NanoWith({"parallel.sequence=true"})),
                "parallel.sequence=true needs parallel.tensor > 1");
  ExpectRefusal(CheckLayoutShapes(NanoWith({"parallel.tensor=2", "parallel.sequence=true", "train.seq_len=63"})),
                "train.seq_len (63) is not divisible by parallel.tensor (2)");
}

}  // namespace
}  // namespace zen
