#include "models/mixer_registry.h"

#include <map>

#include "models/qwen3_blocks.h"  // defines: Qwen3Attention

namespace zen {
namespace {

// The kinds real models use, by the name a ModelSpec gives them.
std::map<std::string, MixerKind> BuiltInMixers() {
  std::map<std::string, MixerKind> kinds;
  kinds["attention"] = MixerKind{"self_attn", [](const ModelSpec& spec, int64_t layer, const ModelGroups& groups) {
                          const int64_t window = spec.IsSlidingLayer(layer) ? spec.sliding_window : 0;
                          return std::shared_ptr<TokenMixer>(Qwen3Attention(spec, groups.tp, window).ptr());
                        }};
  return kinds;
}

std::map<std::string, MixerKind>& Registry() {
  static std::map<std::string, MixerKind> registry = BuiltInMixers();
  return registry;
}

}  // namespace

void RegisterMixer(const std::string& name, MixerKind kind) { Registry()[name] = std::move(kind); }

const MixerKind* FindMixer(const std::string& name) {
  auto it = Registry().find(name);
  return it == Registry().end() ? nullptr : &it->second;
}

}  // namespace zen
