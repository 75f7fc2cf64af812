#include "trainer/preemption.h"

#include <csignal>

#include <gtest/gtest.h>

#include "parallel/local_communicator.h"

namespace zen {
namespace {

int seen_by_previous = 0;
void PreviousHandler(int signal) { seen_by_previous = signal; }

TEST(Preemption, SigtermAndSigusr1AreRecordedAndTheProcessGoesOn) {
  const PreemptionSignals signals;
  EXPECT_EQ(PreemptionSignals::Received(), 0);
  std::raise(SIGUSR1);
  EXPECT_EQ(PreemptionSignals::Received(), SIGUSR1);
  std::raise(SIGTERM);
  EXPECT_EQ(PreemptionSignals::Received(), SIGTERM);
  EXPECT_EQ(SignalName(PreemptionSignals::Received()), "SIGTERM");
}

TEST(Preemption, TheHandlersBeforeComeBackAfterTraining) {
  std::signal(SIGTERM, PreviousHandler);
  { const PreemptionSignals signals; }
  seen_by_previous = 0;
  std::raise(SIGTERM);
  EXPECT_EQ(seen_by_previous, SIGTERM);
  std::signal(SIGTERM, SIG_DFL);
}

TEST(Preemption, ANewRunStartsWithNoSignalRecorded) {
  { const PreemptionSignals first; std::raise(SIGUSR1); }
  const PreemptionSignals second;
  EXPECT_EQ(PreemptionSignals::Received(), 0);
}

TEST(Preemption, OneProcessAgreesWithItself) {
  LocalCommunicator world;
  const PreemptionSignals signals;
  EXPECT_EQ(AgreedPreemptionSignal(world, torch::kCPU), 0);
  std::raise(SIGUSR1);
  EXPECT_EQ(AgreedPreemptionSignal(world, torch::kCPU), SIGUSR1);
}

}  // namespace
}  // namespace zen
