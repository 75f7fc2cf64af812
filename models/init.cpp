#include "models/init.h"

#include <limits>

#include <ATen/CPUGeneratorImpl.h>  // defines: at::detail::createCPUGenerator

namespace zen {
namespace {

// FNV-1a: the same hash of a name in every build and process (std::hash promises neither).
uint64_t StableHash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

uint64_t DrawSeed() {
  const int64_t bound = std::numeric_limits<int64_t>::max();
  return static_cast<uint64_t>(torch::randint(bound, {1}, torch::kLong).item<int64_t>());
}

at::Generator GeneratorFor(uint64_t seed, const std::string& name) {
  return at::detail::createCPUGenerator(seed ^ StableHash(name));
}

}  // namespace zen
