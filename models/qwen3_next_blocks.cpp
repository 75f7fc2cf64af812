#include "models/qwen3_next_blocks.h"

#include "models/attention_heads.h"  // defines: LocalHeads, CachedAttention

namespace zen {

ZeroCentredRmsNormImpl::ZeroCentredRmsNormImpl(int64_t dim, double eps, GroupSet grad_partial_over) : eps_(eps) {
  ParamInfo info;
  info.init = InitRule::kZero;
  info.grad_partial_over = grad_partial_over;
  info.storage_dtype = torch::kFloat32;  // trainable gains stay fp32 under bf16 storage, as RmsNorm's
  weight = RegisterParameter("weight", torch::zeros({dim}), info);
}

torch::Tensor ZeroCentredRmsNormImpl::forward(const torch::Tensor& x) {
  auto x32 = x.to(torch::kFloat32);
  auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  // Scaled in fp32, then cast (Llama casts before scaling).
  return (normed * (1.0 + weight.to(torch::kFloat32))).to(x.scalar_type());
}

int64_t RotaryDim(int64_t head_dim, double partial_rotary_factor) {
  return static_cast<int64_t>(static_cast<double>(head_dim) * partial_rotary_factor);
}

torch::Tensor ApplyPartialRope(const torch::Tensor& x, const Rope& rope) {
  const int64_t rotary = rope.cos.size(-1), head_dim = x.size(-1);
  if (rotary == head_dim) return ApplyRope(x, rope);
  return torch::cat({ApplyRope(x.narrow(-1, 0, rotary), rope), x.narrow(-1, rotary, head_dim - rotary)}, -1);
}

GatedAttentionImpl::GatedAttentionImpl(const ModelSpec& spec, int64_t rotary_dim, const TpGroup& tp)
    : local_heads_(LocalHeads(spec.heads, tp, "model.heads")),
      local_kv_heads_(LocalHeads(spec.KvHeads(), tp, "model.kv_heads")),
      head_dim_(spec.HeadDim()),
      rotary_dim_(rotary_dim),
      rope_theta_(spec.rope_theta) {
  TORCH_CHECK(rotary_dim > 0 && rotary_dim <= head_dim_ && rotary_dim % 2 == 0, "rotary dims (", rotary_dim,
              ") must be even and within head_dim (", head_dim_, ")");
  const int64_t c = spec.hidden, hd = head_dim_;
  q_proj = register_module("q_proj", ColumnParallelLinear(c, spec.heads * hd * 2, tp));  // query and gate
  k_proj = register_module("k_proj", ColumnParallelLinear(c, spec.KvHeads() * hd, tp));
  v_proj = register_module("v_proj", ColumnParallelLinear(c, spec.KvHeads() * hd, tp));
  o_proj = register_module("o_proj", RowParallelLinear(spec.heads * hd, c, tp));
  GroupSet per_head;
  per_head.tp = true;
  q_norm = register_module("q_norm", ZeroCentredRmsNorm(hd, spec.norm_eps, per_head));
  k_norm = register_module("k_norm", ZeroCentredRmsNorm(hd, spec.norm_eps, per_head));
}

torch::Tensor GatedAttentionImpl::forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) {
  return Attend(x, in.rope(rotary_dim_, rope_theta_), in.AttentionMask(0),
                cache != nullptr ? &cache->As<KvState>() : nullptr);
}

torch::Tensor GatedAttentionImpl::Attend(const torch::Tensor& x, const Rope& rope, const torch::Tensor& mask,
                                         KvState* cache) {
  const int64_t b = x.size(0), t = x.size(1), hd = head_dim_;
  auto query_gate = q_proj(x).view({b, t, local_heads_, 2 * hd}).chunk(2, -1);  // each (B, T, H, hd)
  auto gate = query_gate[1].reshape({b, t, local_heads_ * hd});
  auto q = ApplyPartialRope(q_norm(query_gate[0]).transpose(1, 2), rope);                           // (B, H, T, hd)
  auto k = ApplyPartialRope(k_norm(k_proj(x).view({b, t, local_kv_heads_, hd})).transpose(1, 2), rope);  // (B, KV, T, hd)
  auto v = v_proj(x).view({b, t, local_kv_heads_, hd}).transpose(1, 2);
  auto y = CachedAttention(q, k, v, mask, cache);  // (B, H, T, hd)
  y = y.transpose(1, 2).reshape({b, t, local_heads_ * hd}) * torch::sigmoid(gate);  // (B, T, H*hd)
  return o_proj(y);
}

}  // namespace zen
