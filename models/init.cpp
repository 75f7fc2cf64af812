#include "models/init.h"

#include <limits>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>  // defines: at::detail::createCPUGenerator

#include "parallel/layers.h"      // defines: TpShard
#include "parallel/param_info.h"  // defines: ParamInfos, InitRule

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

void InitParameters(torch::nn::Module& model, uint64_t seed, const TpGroup& tp, double std) {
  const auto infos = ParamInfos(model);
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    torch::Tensor param = p.value();
    const ParamInfo& info = infos.at(p.key());
    if (info.init == InitRule::kKeep) continue;
    if (info.init == InitRule::kOne || info.init == InitRule::kZero) {
      param.fill_(info.init == InitRule::kOne ? 1.0 : 0.0);
      continue;
    }
    const int64_t dim = info.split_dim;
    std::vector<int64_t> full_shape = param.sizes().vec();
    if (dim >= 0) full_shape[dim] *= tp.size;
    auto generator = GeneratorFor(seed, p.key());
    if (info.init == InitRule::kLogUniformDecay) {
      // HF Qwen3-Next's A_log: log(A), A ~ U(0.01, 16) (the lower bound keeps log(A) finite).
      param.copy_(TpShard(torch::empty(full_shape).uniform_(0.01, 16.0, generator).log_(), dim, tp));
    } else if (full_shape == param.sizes() && param.device().is_cpu() && param.scalar_type() == torch::kFloat32) {
      param.normal_(0.0, std, generator);  // the whole tensor, drawn in place: the same numbers
    } else {
      param.copy_(TpShard(torch::empty(full_shape).normal_(0.0, std, generator), dim, tp));
    }
  }
}

}  // namespace zen
