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

TEST(Preemption, AFirstSigintIsRecordedAndTheNextMeetsTheDefaultAction) {
  const PreemptionSignals signals;
  std::raise(SIGINT);
  EXPECT_EQ(PreemptionSignals::Received(), SIGINT);
  EXPECT_EQ(SignalName(SIGINT), "SIGINT");
  EXPECT_EQ(ExitCodeAfterSave(SIGINT), 130);
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);  // a second Ctrl-C ends the process at once
}

TEST(Preemption, TheSchedulersSignalOutranksACtrlCSoTheJobIsRequeued) {
  const PreemptionSignals signals;
  std::raise(SIGTERM);
  std::raise(SIGINT);
  EXPECT_EQ(PreemptionSignals::Received(), SIGTERM);
  EXPECT_EQ(ExitCodeAfterSave(PreemptionSignals::Received()), kExitPreempted);
}

TEST(Preemption, AnIgnoredSigintStaysIgnored) {
  std::signal(SIGINT, SIG_IGN);
  {
    const PreemptionSignals signals;
    std::raise(SIGINT);
    EXPECT_EQ(PreemptionSignals::Received(), 0);
  }
  std::signal(SIGINT, SIG_DFL);
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
