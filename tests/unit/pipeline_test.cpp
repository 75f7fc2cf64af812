// Pipeline schedules and stage splits, without ranks: the orders the schedules give each stage, the
// activation memory they imply, and how layers are divided. (tests/cli/pipeline_equivalence.sh runs them
// under mpirun against one process.)
#include <set>

#include <gtest/gtest.h>

#include "core/recipe.h"
#include "parallel/grid.h"
#include "parallel/pipeline_schedule.h"
#include "parallel/pipeline_split.h"
#include "trainer/model_stage.h"

namespace zen {
namespace {

using Op = PipelineAction::Op;
constexpr Op F = PipelineAction::kForward, B = PipelineAction::kBackward;

// The most micro-batches a stage holds at once (forward done, backward not yet) under an order.
int64_t PeakInFlight(const std::vector<PipelineAction>& order) {
  int64_t live = 0, peak = 0;
  for (const auto& a : order) {
    live += a.op == F ? 1 : -1;
    peak = std::max(peak, live);
  }
  return peak;
}

TEST(PipelineSchedule, OneFOneBWarmsUpAlternatesAndDrainsAsMegatronDoes) {
  // 2 stages, 3 micro-batches: stage 0 runs one warm-up forward, stage 1 none.
  EXPECT_EQ(ScheduleOrder(ScheduleKind::kOneFOneB, 2, 0, 3),
            (std::vector<PipelineAction>{{F, 0}, {F, 1}, {B, 0}, {F, 2}, {B, 1}, {B, 2}}));
  EXPECT_EQ(ScheduleOrder(ScheduleKind::kOneFOneB, 2, 1, 3),
            (std::vector<PipelineAction>{{F, 0}, {B, 0}, {F, 1}, {B, 1}, {F, 2}, {B, 2}}));
  EXPECT_EQ(ScheduleOrder(ScheduleKind::kGPipe, 2, 1, 2),
            (std::vector<PipelineAction>{{F, 0}, {F, 1}, {B, 0}, {B, 1}}));
}

TEST(PipelineSchedule, EveryMicroBatchRunsForwardThenBackwardExactlyOnce) {
  for (ScheduleKind kind : {ScheduleKind::kGPipe, ScheduleKind::kOneFOneB}) {
    for (int64_t stages : {1, 2, 4}) {
      for (int64_t micro : {stages, stages + 1, 3 * stages}) {
        for (int64_t stage = 0; stage < stages; ++stage) {
          std::set<int64_t> forwarded, backwarded;
          for (const auto& a : ScheduleOrder(kind, stages, stage, micro)) {
            if (a.op == F) EXPECT_TRUE(forwarded.insert(a.micro).second);
            if (a.op == B) {
              EXPECT_TRUE(forwarded.count(a.micro)) << "backward before forward of " << a.micro;
              EXPECT_TRUE(backwarded.insert(a.micro).second);
            }
          }
          EXPECT_EQ(static_cast<int64_t>(forwarded.size()), micro);
          EXPECT_EQ(static_cast<int64_t>(backwarded.size()), micro);
        }
      }
    }
  }
}

TEST(PipelineSchedule, OneFOneBHoldsAtMostStagesMinusRankActivationsWhateverTheMicroBatches) {
  for (int64_t micro : {4, 8, 64}) {
    for (int64_t stage = 0; stage < 4; ++stage) {
      EXPECT_EQ(PeakInFlight(ScheduleOrder(ScheduleKind::kOneFOneB, 4, stage, micro)), 4 - stage);
      EXPECT_EQ(PeakInFlight(ScheduleOrder(ScheduleKind::kGPipe, 4, stage, micro)), micro);
    }
  }
}

TEST(PipelineSchedule, UnknownScheduleNamesTheKey) {
  EXPECT_TRUE(ParseSchedule("1f1b").ok());
  EXPECT_TRUE(ParseSchedule("gpipe").ok());
  auto bad = ParseSchedule("zigzag");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("parallel.schedule"), std::string::npos);
}

TEST(PipelineSplit, EqualLayersSplitEvenlyWithoutAHead) {
  EXPECT_EQ(BalanceStages(std::vector<double>(8, 1.0), 0, 4),
            (std::vector<LayerRange>{{0, 2}, {2, 4}, {4, 6}, {6, 8}}));
  EXPECT_EQ(BalanceStages(std::vector<double>(5, 1.0), 0, 5).size(), 5u);
}

TEST(PipelineSplit, AnExpensiveHeadMovesLayersOffTheLastStage) {
  // 8 layers of cost 1 and a head of cost 2: the last stage takes 2 layers + head = 4, the others 3 each.
  EXPECT_EQ(BalanceStages(std::vector<double>(8, 1.0), 2.0, 3),
            (std::vector<LayerRange>{{0, 3}, {3, 6}, {6, 8}}));
}

TEST(PipelineSplit, ExplicitCountsMustCoverEveryLayerOncePerStage) {
  auto ok = StagesFromCounts({3, 1}, 4, 2);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, (std::vector<LayerRange>{{0, 3}, {3, 4}}));
  for (const auto& bad : std::vector<std::vector<int64_t>>{{2, 1}, {4}, {4, 0}, {1, 1, 2}}) {
    auto status = StagesFromCounts(bad, 4, 2).status();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_NE(status.message().find("parallel.stage_layers"), std::string::npos) << status;
  }
}

TEST(PipelineSplit, ZenNanosVocabularyHeadWeighsAboutTenLayersSoTwoStagesSplit17To7) {
  Recipe r;
  r.model.layers = 24;
  r.model.hidden = 1024;
  r.model.heads = 16;
  r.model.head_dim = 64;
  r.model.ffn = 2816;
  r.model.vocab = 151936;
  r.train.seq_len = 2048;
  Layout two;
  two.pp = 2;
  const StageRange first = ChooseStage(r, two, 0), last = ChooseStage(r, two, 1);
  EXPECT_EQ(first.first_layer, 0);
  EXPECT_EQ(first.end_layer, 17);
  EXPECT_TRUE(first.has_embedding && !first.has_head);
  EXPECT_EQ(last.first_layer, 17);
  EXPECT_EQ(last.end_layer, 24);
  EXPECT_TRUE(last.has_head && !last.has_embedding);
  r.parallel.stage_layers = {12, 12};  // the recipe's word wins
  EXPECT_EQ(ChooseStage(r, two, 1).first_layer, 12);
}

Recipe PipelineRecipe(int64_t pp, int64_t layers, int64_t global, int64_t micro) {
  Recipe r;
  r.model.layers = layers;
  r.model.hidden = 32;
  r.model.heads = 4;
  r.model.ffn = 64;
  r.model.vocab = 64;
  r.parallel.pipeline = pp;
  r.train.global_batch_size = global;
  r.train.micro_batch_size = micro;
  return r;
}

TEST(PipelineLayout, FewerLayersOrMicroBatchesThanStagesIsBadInput) {
  EXPECT_TRUE(CheckLayout(PipelineRecipe(4, 4, 8, 2), 4).ok());
  auto few_layers = CheckLayout(PipelineRecipe(4, 3, 8, 2), 4).status();
  EXPECT_NE(few_layers.message().find("fewer than the pipeline stages"), std::string::npos) << few_layers;
  auto few_micro = CheckLayout(PipelineRecipe(4, 4, 6, 2), 4).status();  // 3 micro-batches, 4 stages
  EXPECT_NE(few_micro.message().find("1F1B needs at least one per stage"), std::string::npos) << few_micro;
  Recipe gpipe = PipelineRecipe(4, 4, 6, 2);
  gpipe.parallel.schedule = "gpipe";  // GPipe runs with any count
  EXPECT_TRUE(CheckLayout(gpipe, 4).ok());
}

}  // namespace
}  // namespace zen
