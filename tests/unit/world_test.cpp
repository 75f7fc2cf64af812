#include "parallel/world.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace zen {
namespace {

// Sets (or, with nullopt, unsets) OMP_NUM_THREADS for one test and puts the old value back.
class OmpNumThreads {
 public:
  explicit OmpNumThreads(std::optional<std::string> value) {
    if (const char* old = std::getenv("OMP_NUM_THREADS")) old_ = old;
    if (value) {
      ::setenv("OMP_NUM_THREADS", value->c_str(), 1);
    } else {
      ::unsetenv("OMP_NUM_THREADS");
    }
  }
  ~OmpNumThreads() {
    if (old_) {
      ::setenv("OMP_NUM_THREADS", old_->c_str(), 1);
    } else {
      ::unsetenv("OMP_NUM_THREADS");
    }
  }

 private:
  std::optional<std::string> old_;
};

int64_t CoresPerRank(int64_t ranks_on_node) {
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  return std::max<int64_t>(1, cores / ranks_on_node);
}

TEST(IntraOpThreads, TrainThreadsWinsOverOmpNumThreads) {
  OmpNumThreads omp("3");
  TrainSpec train;
  train.threads = 2;
  EXPECT_EQ(IntraOpThreads(train, WorldInfo{}), 2);
  train.threads = 0;
  EXPECT_EQ(IntraOpThreads(train, WorldInfo{}), 3);
}

TEST(IntraOpThreads, UnsetTrainThreadsFollowsOmpNumThreads) {
  TrainSpec train;  // threads = 0
  WorldInfo world;
  world.local_size = 1 << 20;  // so the cores-per-rank fallback would be 1 on any machine
  {
    OmpNumThreads omp("3");
    EXPECT_EQ(IntraOpThreads(train, world), 3);
  }
  {
    OmpNumThreads omp("5,2");  // a nested list: the outer level's count
    EXPECT_EQ(IntraOpThreads(train, world), 5);
  }
}

TEST(IntraOpThreads, WithoutEitherSplitsTheNodesCoresOverItsRanks) {
  TrainSpec train;
  WorldInfo world;
  world.local_size = 2;
  {
    OmpNumThreads omp(std::nullopt);
    EXPECT_EQ(IntraOpThreads(train, world), CoresPerRank(2));
  }
  for (const char* ignored : {"", "0", "many"}) {
    OmpNumThreads omp(std::string{ignored});
    EXPECT_EQ(IntraOpThreads(train, world), CoresPerRank(2)) << "OMP_NUM_THREADS=\"" << ignored << "\"";
  }
}

}  // namespace
}  // namespace zen
