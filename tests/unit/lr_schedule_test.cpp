#include "trainer/lr_schedule.h"

#include <gtest/gtest.h>

namespace zen {
namespace {

OptimSpec Spec(double lr, int64_t warmup, double min_lr_ratio) {
  OptimSpec spec;
  spec.lr = lr;
  spec.warmup_steps = warmup;
  spec.min_lr_ratio = min_lr_ratio;
  return spec;
}

TEST(LrSchedule, WarmupRisesLinearlyFromLrOverWarmupToFullLr) {
  const OptimSpec spec = Spec(1e-3, 4, 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(spec, 0, 100), 0.25e-3);
  EXPECT_DOUBLE_EQ(LearningRate(spec, 1, 100), 0.5e-3);
  EXPECT_DOUBLE_EQ(LearningRate(spec, 3, 100), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRate(spec, 4, 100), 1e-3);  // the cosine starts at the peak
}

TEST(LrSchedule, CosineIsHalfwayBetweenPeakAndFloorAtItsMidpoint) {
  const OptimSpec spec = Spec(1e-3, 10, 0.1);
  // decay runs over steps 10..110 (total 111): its midpoint is step 60.
  EXPECT_NEAR(LearningRate(spec, 60, 111), (1e-3 + 1e-4) / 2, 1e-15);
  EXPECT_GT(LearningRate(spec, 30, 111), LearningRate(spec, 60, 111));
  EXPECT_GT(LearningRate(spec, 60, 111), LearningRate(spec, 90, 111));
}

TEST(LrSchedule, ReachesTheFloorOnTheLastStepAndStaysThere) {
  const OptimSpec spec = Spec(2e-4, 5, 0.1);
  EXPECT_NEAR(LearningRate(spec, 49, 50), 2e-5, 1e-18);
  EXPECT_NEAR(LearningRate(spec, 80, 50), 2e-5, 1e-18);
  EXPECT_GT(LearningRate(spec, 48, 50), 2e-5);
}

TEST(LrSchedule, NoWarmupStartsAtFullLr) {
  const OptimSpec spec = Spec(1e-3, 0, 0.0);
  EXPECT_DOUBLE_EQ(LearningRate(spec, 0, 10), 1e-3);
  EXPECT_NEAR(LearningRate(spec, 9, 10), 0.0, 1e-18);
}

TEST(LrSchedule, RunShorterThanWarmupOnlyWarmsUpAndNeverDividesByZero) {
  const OptimSpec spec = Spec(1e-3, 10, 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(spec, 0, 5), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRate(spec, 4, 5), 5e-4);
  EXPECT_DOUBLE_EQ(LearningRate(spec, 10, 11), 1e-3);  // one step after warmup: nothing to decay over
  EXPECT_DOUBLE_EQ(LearningRate(Spec(1e-3, 0, 0.1), 0, 1), 1e-3);
}

}  // namespace
}  // namespace zen
