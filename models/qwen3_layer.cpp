#include "models/qwen3_layer.h"

namespace zen {

Qwen3DecoderLayerImpl::Qwen3DecoderLayerImpl(const ModelSpec& spec, int64_t layer, const ModelGroups& groups,
                                             const MoeSpec& moe_spec, std::shared_ptr<MoeStats> stats) {
  const TpGroup& tp = groups.tp;
  self_attn = register_module("self_attn", Qwen3Attention(spec, tp));
  if (spec.IsCrossAttnLayer(layer)) cross_attn = register_module("cross_attn", CrossAttention(spec, tp));
  if (spec.IsMoeLayer(layer)) {
    TORCH_CHECK(stats != nullptr, "an MoE layer needs a MoeStats to report to");
    moe = register_module("mlp", MoeBlock(spec, moe_spec, groups, std::move(stats)));
  } else {
    mlp = register_module("mlp", Qwen3Mlp(spec.hidden, spec.ffn, tp));
  }
  input_layernorm = register_module("input_layernorm", RmsNorm(spec.hidden, spec.norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(spec.hidden, spec.norm_eps));
}

torch::Tensor Qwen3DecoderLayerImpl::forward(const torch::Tensor& x, const Rope& rope, const torch::Tensor& mask,
                                             LayerKv* cache, const MediaContext* media) {
  auto h = x + self_attn(input_layernorm(x), rope, mask, cache);
  if (cross_attn && media != nullptr) h = cross_attn(h, *media);  // adds its own gated residual
  auto normed = post_attention_layernorm(h);
  return h + (moe ? moe(normed) : mlp(normed));
}

}  // namespace zen
