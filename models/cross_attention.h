// Zen-Omni's cross-modal layers: gated cross-attention (Flamingo) from the text stream to the projected
// media features of the same row. y = x + tanh(attn_gate) * o(attn(q(norm(x)), k(f), v(f))): the gate
// starts at 0, so a fresh cross-modal layer is the identity and training opens it. Heads are split across
// the tp group like the decoder's attention. Parameter names (under model.layers.{i}.cross_attn):
//   norm.weight, {q,k,v,o}_proj.weight, attn_gate; LoRA's target `cross_attn` covers q/k/v/o.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "core/recipe.h"          // defines: ModelSpec
#include "models/qwen3_blocks.h"  // defines: RmsNorm
#include "parallel/layers.h"      // defines: ColumnParallelLinear, RowParallelLinear
#include "parallel/tp_group.h"    // defines: TpGroup

namespace zen {

// The media features a row's text may attend to: every feature vector that replaced one of the row's
// placeholder tokens, in order, padded to the longest row.
struct MediaContext {
  torch::Tensor features;  // (B, M, C), the projected features (the replaced embeddings)
  torch::Tensor valid;     // (B, M) bool: false = padding (a row with fewer media tokens, or none)
  bool empty() const { return !features.defined() || features.size(1) == 0; }
};

// The context of embeddings (B, T, C) whose placeholder positions `is_media` (B, T) bool hold media
// features: row b's context is embeddings[b, is_media[b]] in order. Empty when no row holds media.
MediaContext GatherMediaContext(const torch::Tensor& embeddings, const torch::Tensor& is_media);

class CrossAttentionImpl : public ParamModule {
 public:
  CrossAttentionImpl(const ModelSpec& spec, const TpGroup& tp);
  // x: (B, T, C) -> (B, T, C). Query t of row b attends to media.features[b] where valid (never to another
  // row's media); a row with no valid feature gets x back unchanged.
  torch::Tensor forward(const torch::Tensor& x, const MediaContext& media);

  RmsNorm norm{nullptr};
  ColumnParallelLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  RowParallelLinear o_proj{nullptr};
  torch::Tensor attn_gate;  // (1), 0 at the start

 private:
  int64_t local_heads_, head_dim_;
};
TORCH_MODULE(CrossAttention);

}  // namespace zen
