#include "core/fault_injection.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace zen {

std::optional<InjectedFault> ParseInjectedFault(const std::string& spec) {
  static const std::pair<const char*, FaultKind> kKinds[] = {
      {"fail", FaultKind::kFail}, {"hang", FaultKind::kHang}, {"nan", FaultKind::kNan}, {"killsave", FaultKind::kKillSave}};
  long rank = -1, step = -1;
  char kind[16] = {0};
  if (std::sscanf(spec.c_str(), "%ld:%ld:%15s", &rank, &step, kind) != 3) return std::nullopt;
  for (const auto& [name, value] : kKinds) {
    if (std::string(kind) == name) return InjectedFault{rank, step, value, spec};
  }
  return std::nullopt;
}

std::optional<InjectedFault> InjectedFaultFromEnvironment() {
  const char* spec = std::getenv("ZEN_TEST_FAULT");
  if (spec == nullptr) return std::nullopt;
  return ParseInjectedFault(spec);
}

}  // namespace zen
