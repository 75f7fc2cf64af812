#include "models/init.h"

#include <limits>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>  // defines: at::detail::createCPUGenerator

#include "parallel/layers.h"  // defines: TpSplitDims, TpShard

namespace zen {
namespace {

// FNV-1a: the same hash of a name in every build and process (std::hash promises neither).
uint64_t StableHash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

uint64_t DrawSeed() {
  const int64_t bound = std::numeric_limits<int64_t>::max();
  return static_cast<uint64_t>(torch::randint(bound, {1}, torch::kLong).item<int64_t>());
}

at::Generator GeneratorFor(uint64_t seed, const std::string& name) {
  return at::detail::createCPUGenerator(seed ^ StableHash(name));
}

void InitParameters(torch::nn::Module& model, uint64_t seed, const TpGroup& tp, double std) {
  const auto split_dims = TpSplitDims(model);
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    torch::Tensor param = p.value();
    if (EndsWith(p.key(), "norm.weight")) {
      param.fill_(1.0);
      continue;
    }
    const int64_t dim = split_dims.at(p.key());
    std::vector<int64_t> full_shape = param.sizes().vec();
    if (dim >= 0) full_shape[dim] *= tp.size;
    auto generator = GeneratorFor(seed, p.key());
    if (full_shape == param.sizes() && param.device().is_cpu() && param.scalar_type() == torch::kFloat32) {
      param.normal_(0.0, std, generator);  // the whole tensor, drawn in place: the same numbers
    } else {
      param.copy_(TpShard(torch::empty(full_shape).normal_(0.0, std, generator), dim, tp));
    }
  }
}

}  // namespace zen
