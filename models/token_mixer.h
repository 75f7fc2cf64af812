// The token mixer of a decoder layer: the part that moves information between positions (attention, or a
// linear-attention recurrence as Qwen3-Next's Gated DeltaNet). Every kind takes the normed residual
// stream x, the call's LayerInputs and, during generation, its layer's cache; the decoder layer around it
// (norms, residuals, MLP) is the same for every kind. models/mixer_registry.h builds the kind a layer's
// spec names. docs/seams.md ("Token mixers") explains how to add one.
#pragma once

#include <variant>

#include <torch/torch.h>

#include "models/layer_inputs.h"  // defines: LayerInputs
#include "parallel/param_info.h"  // defines: ParamModule

namespace zen {

// An attention layer's keys (after RoPE) and values for every position generated so far.
struct KvState {
  torch::Tensor k, v;  // (B, KV/tp, S, head_dim); undefined until the first cached call
};

// A recurrent mixer's state after the positions generated so far (what a linear-attention layer carries
// instead of keys and values; its size does not grow with the sequence).
struct RecurrentState {
  torch::Tensor conv;   // (B, channels/tp, kernel - 1): the last inputs of a causal convolution; or undefined
  torch::Tensor state;  // (B, heads/tp, ...): the recurrence's state; undefined before the first call
};

// What one layer of a generation carries from one cached call to the next: empty until its mixer's first
// call, then the state of that mixer's kind.
struct LayerCache {
  std::variant<std::monostate, KvState, RecurrentState> state;

  // The state as kind S, created empty on first use (a layer's mixer never changes kind).
  template <typename S>
  S& As() {
    if (std::holds_alternative<std::monostate>(state)) state.template emplace<S>();
    TORCH_CHECK(std::holds_alternative<S>(state), "a layer cache holds another token mixer's state");
    return std::get<S>(state);
  }
};

// A ParamModule, so a mixer declares its parameters' metadata (a per-head vector split like the heads).
class TokenMixer : public ParamModule {
 public:
  // x: (B, T, C), the normed residual stream -> (B, T, C), added to it by the layer. `in`: the call's
  // positions, segments and shared RoPE/masks. `cache`: null in training; in generation this layer's
  // state, which holds `in.cached()` positions before x's and is advanced past them.
  virtual torch::Tensor forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) = 0;
};

}  // namespace zen
