// Test hooks in production code, parsed in one place: ZEN_TEST_FAULT="RANK:STEP:KIND" makes rank RANK
// misbehave at step STEP, so the tests can prove what a failing rank does to the job (tests/cli/
// rank_failure.sh, train_demo.sh, checkpoint_resume.sh, sigint.sh, sweep.sh). Unset, or not of that form,
// it injects nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace zen {

enum class FaultKind {
  kFail,      // throws at step STEP: a crashed rank must end the whole job (trainer/trainer.cpp)
  kHang,      // stops answering at step STEP: the collective timeout must end the job
  kNan,       // its loss is NaN from step STEP on: the non-finite-loss policy skips, counts and stops
  kKillSave,  // SIGKILL after writing its shard of the step-STEP checkpoint, before the commit
              // (checkpoints/checkpoint.cpp), as a crash or a preempted node would
};

struct InjectedFault {
  int64_t rank = -1;
  int64_t step = -1;
  FaultKind kind = FaultKind::kFail;
  std::string spec;  // the text it was parsed from, for the injected failure's message
};

// "RANK:STEP:fail|hang|nan|killsave"; nullopt for anything else.
std::optional<InjectedFault> ParseInjectedFault(const std::string& spec);

// ZEN_TEST_FAULT parsed; nullopt when it is unset or malformed.
std::optional<InjectedFault> InjectedFaultFromEnvironment();

}  // namespace zen
