#include "models/qwen3_layer.h"

#include "models/mixer_registry.h"  // defines: FindMixer
#include "models/qwen3_next_blocks.h"  // defines: ZeroCentredRmsNorm

namespace zen {

Qwen3DecoderLayerImpl::Qwen3DecoderLayerImpl(const ModelSpec& spec, int64_t layer, const ModelGroups& groups,
                                             const MoeSpec& moe_spec, std::shared_ptr<MoeStats> stats) {
  const TpGroup& tp = groups.tp;
  const std::string kind = spec.MixerOf(layer);
  const MixerKind* mixer_kind = FindMixer(kind);
  TORCH_CHECK(mixer_kind != nullptr, "layer ", layer, ": no token mixer of kind \"", kind, "\"");
  mixer = register_module(mixer_kind->module_name, mixer_kind->make(spec, layer, groups));
  if (spec.IsCrossAttnLayer(layer)) cross_attn = register_module("cross_attn", CrossAttention(spec, tp));
  if (spec.IsMoeLayer(layer)) {
    TORCH_CHECK(stats != nullptr, "an MoE layer needs a MoeStats to report to");
    moe = register_module("mlp", MoeBlock(spec, moe_spec, groups, std::move(stats), spec.shared_expert_gate));
  } else {
    mlp = register_module("mlp", Qwen3Mlp(spec.hidden, spec.ffn, tp));
  }
  input_layernorm = register_module("input_layernorm", MakeDecoderNorm(spec));
  post_attention_layernorm = register_module("post_attention_layernorm", MakeDecoderNorm(spec));
}

std::shared_ptr<NormImpl> MakeDecoderNorm(const ModelSpec& spec) {
  if (spec.zero_centred_norms) return ZeroCentredRmsNorm(spec.hidden, spec.norm_eps).ptr();
  return RmsNorm(spec.hidden, spec.norm_eps).ptr();
}

torch::Tensor Qwen3DecoderLayerImpl::forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) {
  auto h = x + mixer->forward(input_layernorm->forward(x), in, cache);
  if (cross_attn && in.media() != nullptr) h = cross_attn(h, *in.media());  // adds its own gated residual
  auto normed = post_attention_layernorm->forward(h);
  return h + (moe ? moe(normed) : mlp(normed));
}

}  // namespace zen
