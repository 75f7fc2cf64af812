// Which token mixer each kind name builds (ModelSpec::mixers / MixerOf), and the module name its layers
// register it under: Hugging Face's, so parameter names match theirs ("self_attn" for attention,
// model.layers.{i}.self_attn.*; Qwen3-Next's linear layers use "linear_attn").
// Built in: "attention" (Qwen3Attention; full or sliding per ModelSpec::IsSlidingLayer); Qwen3-Next's
// "linear_attention" (GatedDeltaNet, as "linear_attn") and "gated_attention" (GatedAttention with partial
// RoPE, as "self_attn"). A new kind is a
// TokenMixer subclass plus one entry in BuiltInMixers (mixer_registry.cpp); tests add their own with
// RegisterMixer, so no test code lives in models/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/recipe.h"            // defines: ModelSpec
#include "models/token_mixer.h"     // defines: TokenMixer
#include "parallel/model_groups.h"  // defines: ModelGroups

namespace zen {

// Builds the mixer of global layer `layer` of `spec`, holding this rank's share (groups.tp).
using MixerFactory =
    std::function<std::shared_ptr<TokenMixer>(const ModelSpec& spec, int64_t layer, const ModelGroups& groups)>;

struct MixerKind {
  std::string module_name;  // the layer's submodule name, e.g. "self_attn"
  MixerFactory make;
};

// Adds (or replaces) kind `name`. Not thread-safe: call before building models.
void RegisterMixer(const std::string& name, MixerKind kind);
// The kind `name`, or null when none is registered under it.
const MixerKind* FindMixer(const std::string& name);

}  // namespace zen
