// One Qwen3 decoder layer: pre-norm attention and a pre-norm MLP, each added to the residual stream.
// On the layers the spec marks as MoE (ModelSpec::IsMoeLayer) the MLP is the mixture-of-experts block,
// registered under the same name "mlp" as Hugging Face's Qwen3-MoE does. On Zen-Omni's cross-modal layers
// (ModelSpec::IsCrossAttnLayer) a gated cross-attention to the row's media sits between the two.
#pragma once

#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "core/recipe.h"          // defines: ModelSpec, MoeSpec
#include "models/cross_attention.h"  // defines: CrossAttention, MediaContext
#include "models/moe.h"           // defines: MoeBlock, MoeStats
#include "models/qwen3_blocks.h"  // defines: Qwen3Attention, Qwen3Mlp, RmsNorm, Rope
#include "parallel/model_groups.h"  // defines: ModelGroups

namespace zen {

class Qwen3DecoderLayerImpl : public torch::nn::Module {
 public:
  // `layer`: the global layer index (decides dense or MoE). `stats` collects the MoE layers' routing.
  Qwen3DecoderLayerImpl(const ModelSpec& spec, int64_t layer, const ModelGroups& groups, const MoeSpec& moe = {},
                        std::shared_ptr<MoeStats> stats = nullptr);
  // x: (B, T, C) -> (B, T, C). `cache`: the attention's keys and values so far (Qwen3Attention::forward).
  // `media`: what a cross-modal layer attends to; null or empty = the layer skips its cross-attention.
  torch::Tensor forward(const torch::Tensor& x, const Rope& rope, const torch::Tensor& mask,
                        LayerKv* cache = nullptr, const MediaContext* media = nullptr);

  Qwen3Attention self_attn{nullptr};
  Qwen3Mlp mlp{nullptr};     // dense layers
  MoeBlock moe{nullptr};     // MoE layers (named "mlp" too)
  CrossAttention cross_attn{nullptr};  // cross-modal layers only
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(Qwen3DecoderLayer);

}  // namespace zen
