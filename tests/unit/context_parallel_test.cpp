// Context parallelism's split and its layout rules (parallel/context_parallel.h, parallel/grid.h):
//   - the load-balanced split gives rank i chunks i and 2C-1-i, every position to exactly one rank, and
//     every rank the same share of causal attention's query-key pairs;
//   - each rank's context mask is the whole row's mask (causal, sliding window) at its queries' rows and
//     the gathered keys' columns;
//   - CheckLayout counts cp in the world and refuses, naming the key, a sequence not divisible by 2·C, a
//     multimodal model and a token mixer other than attention.
#include <gtest/gtest.h>

#include "core/recipe_loader.h"
#include "models/positional.h"          // defines: CausalMask
#include "parallel/context_parallel.h"  // defines: ContextChunkIndices, ContextAttentionMask, TakeContextShard
#include "parallel/grid.h"              // defines: CheckLayout, CheckLayoutShapes, Locate

namespace zen {
namespace {

const torch::Device kCpu(torch::kCPU);

TEST(ContextSplit, RankIHoldsChunksIAndTwoCMinusOneMinusI) {
  // T = 16, C = 2: chunks of 4; rank 0 holds 0-3 and 12-15, rank 1 holds 4-11.
  EXPECT_TRUE(ContextChunkIndices(16, 0, 2, kCpu).equal(
      torch::tensor({0, 1, 2, 3, 12, 13, 14, 15}, torch::kLong)));
  EXPECT_TRUE(ContextChunkIndices(16, 1, 2, kCpu).equal(torch::arange(4, 12, torch::kLong)));
  // C = 4, T = 16: chunks of 2; rank 1 holds chunks 1 and 6.
  EXPECT_TRUE(ContextChunkIndices(16, 1, 4, kCpu).equal(torch::tensor({2, 3, 12, 13}, torch::kLong)));
}

TEST(ContextSplit, EveryPositionOnceAndEveryRankTheSameCausalWork) {
  for (int64_t c : {2, 4, 8}) {
    const int64_t t = 16 * c;
    std::vector<torch::Tensor> all;
    std::vector<int64_t> work;
    for (int64_t r = 0; r < c; ++r) {
      const torch::Tensor mine = ContextChunkIndices(t, r, c, kCpu);
      all.push_back(mine);
      work.push_back((mine + 1).sum().item<int64_t>());  // query at index i sees i + 1 keys
    }
    EXPECT_TRUE(std::get<0>(torch::cat(all).sort()).equal(torch::arange(t, torch::kLong))) << "C = " << c;
    for (int64_t w : work) EXPECT_EQ(w, work[0]) << "C = " << c << ": unbalanced causal work";
  }
}

TEST(ContextSplit, ShardTakesTheSameColumnsOfEveryRow) {
  const torch::Tensor rows = torch::arange(2 * 16, torch::kLong).view({2, 16});
  CpGroup cp{nullptr, 1, 2};
  const torch::Tensor shard = TakeContextShard(rows, cp);
  EXPECT_TRUE(shard.equal(rows.index_select(1, ContextChunkIndices(16, 1, 2, kCpu))));
  EXPECT_FALSE(TakeContextShard(torch::Tensor(), cp).defined());
}

// Without segments the mask needs no communication: check it against the whole row's CausalMask.
TEST(ContextMask, IsTheWholeRowsMaskAtThisRanksQueriesAndTheGatheredKeys) {
  const int64_t t = 32;
  for (int64_t c : {2, 4}) {
    std::vector<torch::Tensor> parts;
    for (int64_t r = 0; r < c; ++r) parts.push_back(ContextChunkIndices(t, r, c, kCpu));
    const torch::Tensor keys = torch::cat(parts);
    for (int64_t window : {0, 5}) {
      const torch::Tensor whole = CausalMask(t, t, window, kCpu);
      for (int64_t r = 0; r < c; ++r) {
        const torch::Tensor want = whole.index_select(0, parts[r]).index_select(1, keys);
        const torch::Tensor got = ContextAttentionMask(t / c, torch::Tensor(), window, CpGroup{nullptr, r, c}, kCpu);
        EXPECT_TRUE(got.equal(want)) << "C = " << c << ", rank " << r << ", window " << window;
      }
    }
  }
}

const std::string kNano = std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-nano-lora.yaml";

Recipe NanoWith(const std::vector<std::string>& overrides) {
  std::vector<std::string> all = {"train.global_batch_size=8", "train.micro_batch_size=1", "train.seq_len=64"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  auto loaded = LoadRecipe(kNano, all);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded->recipe;
}

void ExpectRefusal(const absl::Status& status, const std::string& says) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(std::string(status.message()).find(says), std::string::npos) << status.message();
}

TEST(ContextLayout, CpCountsInTheWorldAndTheGridOrder) {
  auto layout = CheckLayout(NanoWith({"parallel.context=2", "parallel.tensor=2"}), 8);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->cp, 2);
  EXPECT_EQ(layout->dp, 2);
  for (int64_t rank = 0; rank < 8; ++rank) {  // tp fastest, then cp, then dp
    const Coordinates c = Locate(*layout, rank);
    EXPECT_EQ(c.tp, rank % 2);
    EXPECT_EQ(c.cp, (rank / 2) % 2);
    EXPECT_EQ(c.dp, rank / 4);
  }
  ExpectRefusal(CheckLayout(NanoWith({"parallel.context=2", "parallel.tensor=2"}), 6).status(),
                "parallel.tensor × parallel.context × parallel.pipeline = 4 does not divide the world size 6");
}

TEST(ContextLayout, RefusesASequenceNotDivisibleByTwiceTheDegree) {
  ExpectRefusal(CheckLayoutShapes(NanoWith({"parallel.context=4", "train.seq_len=60"})),
                "parallel.context=4: train.seq_len (60) is not divisible by 2 × 4");
  EXPECT_TRUE(CheckLayoutShapes(NanoWith({"parallel.context=4", "train.seq_len=64"})).ok());
}

TEST(ContextLayout, RefusesMediaAndTokenMixersOtherThanAttention) {
  Recipe r = NanoWith({"parallel.context=2"});
  r.model.mixers = {"attention", "linear_attention"};
  r.model.layers = 2;
  ExpectRefusal(CheckLayoutShapes(r), "parallel.context=2: layer 1's token mixer is linear_attention");
  r.model.mixers.clear();
  r.model.vision.layers = 1;
  r.model.vision.heads = 4;
  r.model.vision.ffn = 64;
  ExpectRefusal(CheckLayoutShapes(r), "parallel.context=2: a multimodal model");
}

}  // namespace
}  // namespace zen
