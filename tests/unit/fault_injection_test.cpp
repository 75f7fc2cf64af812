#include "core/fault_injection.h"

#include <gtest/gtest.h>

namespace zen {
namespace {

TEST(FaultInjection, ParsesRankStepAndEveryKind) {
  const std::optional<InjectedFault> fail = ParseInjectedFault("1:3:fail");
  ASSERT_TRUE(fail.has_value());
  EXPECT_EQ(fail->rank, 1);
  EXPECT_EQ(fail->step, 3);
  EXPECT_EQ(fail->kind, FaultKind::kFail);
  EXPECT_EQ(fail->spec, "1:3:fail");
  EXPECT_EQ(ParseInjectedFault("0:1:hang")->kind, FaultKind::kHang);
  EXPECT_EQ(ParseInjectedFault("0:3:nan")->kind, FaultKind::kNan);
  const std::optional<InjectedFault> kill = ParseInjectedFault("1:6:killsave");
  ASSERT_TRUE(kill.has_value());
  EXPECT_EQ(kill->kind, FaultKind::kKillSave);
  EXPECT_EQ(kill->rank, 1);
  EXPECT_EQ(kill->step, 6);
}

TEST(FaultInjection, MalformedOrUnknownSpecInjectsNothing) {
  EXPECT_FALSE(ParseInjectedFault("").has_value());
  EXPECT_FALSE(ParseInjectedFault("1:3").has_value());
  EXPECT_FALSE(ParseInjectedFault("one:3:fail").has_value());
  EXPECT_FALSE(ParseInjectedFault("1:3:explode").has_value());
}

TEST(FaultInjection, ReadsZenTestFaultFromTheEnvironment) {
  ::setenv("ZEN_TEST_FAULT", "2:5:nan", 1);
  const std::optional<InjectedFault> fault = InjectedFaultFromEnvironment();
  ::unsetenv("ZEN_TEST_FAULT");
  ASSERT_TRUE(fault.has_value());
  EXPECT_EQ(fault->rank, 2);
  EXPECT_EQ(fault->step, 5);
  EXPECT_EQ(fault->kind, FaultKind::kNan);
  EXPECT_FALSE(InjectedFaultFromEnvironment().has_value());
}

}  // namespace
}  // namespace zen
