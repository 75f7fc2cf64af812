// One Qwen3 decoder layer: a pre-norm token mixer and a pre-norm MLP, each added to the residual stream.
// The mixer is the kind ModelSpec::MixerOf(layer) names (models/mixer_registry.h), registered under its
// kind's Hugging Face name ("self_attn" for attention). On the layers the spec marks as MoE
// (ModelSpec::IsMoeLayer) the MLP is the mixture-of-experts block, registered under the same name "mlp" as
// Hugging Face's Qwen3-MoE does (with a gated shared expert where spec.shared_expert_gate, as Qwen3-Next's).
// The two norms are zero-centred where spec.zero_centred_norms. On Zen-Omni's cross-modal layers (ModelSpec::IsCrossAttnLayer) a gated
// cross-attention to the row's media sits between the two.
#pragma once

#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "core/recipe.h"          // defines: ModelSpec, MoeSpec
#include "models/cross_attention.h"  // defines: CrossAttention, MediaContext
#include "models/layer_inputs.h"  // defines: LayerInputs
#include "models/moe.h"           // defines: MoeBlock, MoeStats
#include "models/qwen3_blocks.h"  // defines: Qwen3Mlp, RmsNorm
#include "models/token_mixer.h"   // defines: TokenMixer, LayerCache
#include "parallel/model_groups.h"  // defines: ModelGroups

namespace zen {

class Qwen3DecoderLayerImpl : public torch::nn::Module {
 public:
  // `layer`: the global layer index (decides the mixer kind, dense or MoE). `stats` collects the MoE
  // layers' routing.
  Qwen3DecoderLayerImpl(const ModelSpec& spec, int64_t layer, const ModelGroups& groups, const MoeSpec& moe = {},
                        std::shared_ptr<MoeStats> stats = nullptr);
  // x: (B, T, C) -> (B, T, C). `in`: the call's positions, segments, shared RoPE and masks, and the media
  // a cross-modal layer attends to (none or empty = it skips its cross-attention). `cache`: this layer's
  // generation state (TokenMixer::forward); null in training.
  torch::Tensor forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache = nullptr);

  std::shared_ptr<TokenMixer> mixer;  // "self_attn", or another kind's name
  Qwen3Mlp mlp{nullptr};     // dense layers
  MoeBlock moe{nullptr};     // MoE layers (named "mlp" too)
  CrossAttention cross_attn{nullptr};  // cross-modal layers only
  std::shared_ptr<NormImpl> input_layernorm, post_attention_layernorm;
};
TORCH_MODULE(Qwen3DecoderLayer);

// The decoder's RMSNorm over `spec.hidden`: zero-centred x/rms(x) * (1 + w) when spec.zero_centred_norms
// (Qwen3-Next), else Qwen3's x/rms(x) * w.
std::shared_ptr<NormImpl> MakeDecoderNorm(const ModelSpec& spec);

}  // namespace zen
