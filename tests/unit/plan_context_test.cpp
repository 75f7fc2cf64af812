// The planner under context parallelism (trainer/plan.h): a cp rank's activations, masks and logits are
// those of its T/cp positions of every row, plus the other ranks' keys and values it gathers; `zen plan`
// offers cp layouts for long rows only, and proposes one where no layout without it fits.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/recipe_loader.h"
#include "tests/unit/model_test_util.h"
#include "trainer/plan.h"

namespace zen {
namespace {

const double kGiB = double(int64_t{1} << 30);

Recipe LoadShipped(const std::string& model, const std::vector<std::string>& overrides = {}) {
  auto loaded = LoadRecipe(std::string(ZEN_SOURCE_DIR) + "/configs/recipes/zen-" + model + "-lora.yaml", overrides);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded->recipe;
}

ClusterSpec Cluster(int64_t nodes, int64_t gpus, double gib) {
  ClusterSpec c;
  c.nodes = nodes;
  c.gpus_per_node = gpus;
  c.gpu_memory_bytes = gib * kGiB;
  return c;
}

TEST(PlanContext, ARankHoldsItsShareOfEveryRowAndTheGatheredKeysAndValues) {
  // TinySpec (hidden 32, 4 heads of 8, 2 KV heads, ffn 48, vocab 64), LoRA on q and v, rows of 16,
  // micro-batch 2, fp32. cp = 2: 8 positions of each row, 16 tokens per rank.
  Recipe r;
  r.model = testing::TinySpec();
  r.lora = testing::TinyLora({"q", "v"}, /*rank=*/4);
  r.train.seq_len = 16;
  r.train.micro_batch_size = 2;
  r.train.global_batch_size = 4;
  Layout cp2;
  cp2.cp = 2;
  const RankMemory m = StageMemory(r, MemoryOptions{}, cp2, /*stage=*/0, /*micro=*/1);
  // Per layer: 512 values per token (the one-process test's count) x 16 tokens; the other rank's K and V,
  // 2 rows x 8 positions x (2 + 2 KV heads x 8) = 512 values; SDPA's fp32 mask of 2 x 8 queries x 16 keys
  // (256 values); all x 4 bytes. Two layers, + the boolean mask (256 bytes) once.
  EXPECT_EQ(m.activations, 2 * ((512 * 16 + 512 + 256) * 4.0) + 256);
  EXPECT_EQ(m.logits, 5 * 16 * 64 * 4.0);  // five fp32 (tokens, V) tensors over this rank's 16 tokens
  const RankMemory whole = StageMemory(r, MemoryOptions{}, Layout{}, 0, 1);
  EXPECT_LT(m.activations, 0.6 * whole.activations);
  EXPECT_EQ(m.weights, whole.weights);  // cp splits no parameter
}

TEST(PlanContext, OffersContextParallelismOnlyForLongRows) {
  auto cp_layouts = [](const Plan& p) {
    int64_t n = 0;
    for (const LayoutPlan& l : p.layouts) n += l.layout.cp > 1;
    return n;
  };
  EXPECT_EQ(cp_layouts(MakePlan(LoadShipped("nano"), Cluster(1, 8, 80))), 0);
  const Plan long_rows = MakePlan(LoadShipped("nano", {"train.seq_len=32768"}), Cluster(1, 8, 80));
  EXPECT_GT(cp_layouts(long_rows), 0);
  for (const LayoutPlan& l : long_rows.layouts) {
    EXPECT_EQ(l.layout.tp * l.layout.cp * l.layout.pp * l.layout.dp, 8);
  }
}

TEST(PlanContext, ProposesContextParallelismWhereNoLayoutWithoutItFits) {
  // Zen-Nano at its guide context (32K), one row per micro-batch, fp32 with nothing recomputed: a whole
  // row's (T, T) masks and scores do not fit one 80 GiB rank at any tp, T/cp x T of them do.
  Recipe r = LoadShipped("nano", {"train.seq_len=32768", "train.micro_batch_size=1"});
  PlanSearch as_is;
  as_is.options = RecipeMemoryOptions(r);
  as_is.search = false;
  const Plan plan = MakePlan(r, Cluster(1, 8, 80), std::nullopt, as_is);
  for (const LayoutPlan& l : plan.layouts) {
    if (l.layout.cp == 1) EXPECT_FALSE(l.fits) << "tp " << l.layout.tp << " pp " << l.layout.pp;
  }
  const LayoutPlan* best = plan.Best();
  ASSERT_NE(best, nullptr) << "no layout fits";
  EXPECT_GT(best->layout.cp, 1);
}

}  // namespace
}  // namespace zen
