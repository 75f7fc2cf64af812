#include "models/init.h"

#include <limits>
#include <set>
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

// Parameters whose start is fixed rather than drawn: biases and LayerNorm shifts 0, the Omni cross-attention
// gates 0 (a fresh cross-modal layer is the identity, as Flamingo's tanh gates), LayerNorm scales 1.
// Whisper's sinusoidal positions keep what the encoder computed at construction.
enum class Fixed { kDrawn, kZero, kOne, kKeep };

Fixed FixedStart(const std::string& name, const std::set<std::string>& layer_norms) {
  if (EndsWith(name, "norm.weight")) return Fixed::kOne;
  if (EndsWith(name, "embed_positions.weight")) return Fixed::kKeep;
  const size_t dot = name.rfind('.');
  const std::string owner = dot == std::string::npos ? "" : name.substr(0, dot);
  if (layer_norms.count(owner) > 0) return EndsWith(name, ".weight") ? Fixed::kOne : Fixed::kZero;
  if (EndsWith(name, ".bias") || EndsWith(name, "_gate")) return Fixed::kZero;
  return Fixed::kDrawn;
}

// The module names of every torch::nn::LayerNorm in `model` (the encoders' norms: layer_norm1, ...).
std::set<std::string> LayerNormModules(const torch::nn::Module& model) {
  std::set<std::string> names;
  for (const auto& m : model.named_modules("", /*include_self=*/false)) {
    if (dynamic_cast<const torch::nn::LayerNormImpl*>(m.value().get())) names.insert(m.key());
  }
  return names;
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
  const auto layer_norms = LayerNormModules(model);
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    torch::Tensor param = p.value();
    const Fixed fixed = FixedStart(p.key(), layer_norms);
    if (fixed != Fixed::kDrawn) {
      if (fixed != Fixed::kKeep) param.fill_(fixed == Fixed::kOne ? 1.0 : 0.0);
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
