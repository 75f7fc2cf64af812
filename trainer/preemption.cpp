#include "trainer/preemption.h"

#include <atomic>

#include "absl/strings/str_cat.h"

namespace zen {
namespace {

// Written by the handler (any thread may take the signal), read at step boundaries. Lock-free, so
// async-signal-safe.
std::atomic<int> received{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

void RecordPreemption(int signal) {
  int seen = received.load(std::memory_order_relaxed);
  while (signal > seen && !received.compare_exchange_weak(seen, signal, std::memory_order_relaxed)) {
  }
}

struct sigaction Install(int signal, int flags = 0) {
  struct sigaction action {}, previous {};
  action.sa_handler = RecordPreemption;
  action.sa_flags = SA_RESTART | flags;
  sigemptyset(&action.sa_mask);
  sigaction(signal, &action, &previous);
  return previous;
}

// SIGINT's handler, one-shot, unless SIGINT is ignored (returns the previous action either way).
struct sigaction InstallInterrupt() {
  struct sigaction previous {};
  sigaction(SIGINT, nullptr, &previous);
  if (previous.sa_handler == SIG_IGN) return previous;
  return Install(SIGINT, SA_RESETHAND);
}

}  // namespace

PreemptionSignals::PreemptionSignals() {
  received.store(0);
  previous_term_ = Install(SIGTERM);
  previous_usr1_ = Install(SIGUSR1);
  previous_int_ = InstallInterrupt();
}

PreemptionSignals::~PreemptionSignals() {
  sigaction(SIGTERM, &previous_term_, nullptr);
  sigaction(SIGUSR1, &previous_usr1_, nullptr);
  sigaction(SIGINT, &previous_int_, nullptr);
}

int ExitCodeAfterSave(int signal) { return signal == SIGINT ? kExitInterrupted : kExitPreempted; }

int PreemptionSignals::Received() { return received.load(std::memory_order_relaxed); }

int AgreedPreemptionSignal(Communicator& world, const torch::Device& device) {
  torch::Tensor signal = torch::full({1}, PreemptionSignals::Received(), torch::TensorOptions().dtype(torch::kInt));
  signal = signal.to(device);
  world.AllReduceMax(signal);
  return signal.cpu().item<int>();
}

std::string SignalName(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return absl::StrCat("signal ", signal);
  }
}

}  // namespace zen
