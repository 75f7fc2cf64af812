#include "models/mixer_registry.h"

#include <map>

#include "models/gated_deltanet.h"     // defines: GatedDeltaNet, GatedDeltaNetSpec
#include "models/qwen3_blocks.h"       // defines: Qwen3Attention
#include "models/qwen3_next_blocks.h"  // defines: GatedAttention, RotaryDim

namespace zen {
namespace {

// The kinds real models use, by the name a ModelSpec gives them.
std::map<std::string, MixerKind> BuiltInMixers() {
  std::map<std::string, MixerKind> kinds;
  kinds["attention"] = MixerKind{"self_attn", [](const ModelSpec& spec, int64_t layer, const ModelGroups& groups) {
                          const int64_t window = spec.IsSlidingLayer(layer) ? spec.sliding_window : 0;
                          return std::shared_ptr<TokenMixer>(Qwen3Attention(spec, groups.tp, window).ptr());
                        }};
  // Qwen3-Next: HF names the Gated DeltaNet "linear_attn" and its gated full attention "self_attn".
  kinds["linear_attention"] =
      MixerKind{"linear_attn", [](const ModelSpec& spec, int64_t, const ModelGroups& groups) {
                  GatedDeltaNetSpec s;
                  s.hidden = spec.hidden;
                  s.key_heads = spec.linear_num_key_heads;
                  s.value_heads = spec.linear_num_value_heads;
                  s.key_head_dim = spec.linear_key_head_dim;
                  s.value_head_dim = spec.linear_value_head_dim;
                  s.conv_kernel = spec.linear_conv_kernel_dim;
                  s.norm_eps = spec.norm_eps;
                  return std::shared_ptr<TokenMixer>(GatedDeltaNet(s, groups.tp).ptr());
                }};
  kinds["gated_attention"] = MixerKind{"self_attn", [](const ModelSpec& spec, int64_t, const ModelGroups& groups) {
                                const int64_t rotary = RotaryDim(spec.HeadDim(), spec.partial_rotary_factor);
                                return std::shared_ptr<TokenMixer>(GatedAttention(spec, rotary, groups.tp).ptr());
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
