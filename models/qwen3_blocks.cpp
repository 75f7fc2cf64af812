#include "models/qwen3_blocks.h"

#include "models/attention_heads.h"  // defines: LocalHeads, CachedAttention

namespace zen {

RmsNormImpl::RmsNormImpl(int64_t dim, double eps, GroupSet grad_partial_over) : eps_(eps) {
  ParamInfo info;
  info.init = InitRule::kOne;
  info.grad_partial_over = grad_partial_over;
  info.storage_dtype = torch::kFloat32;  // trainable gains stay fp32 under bf16 storage (parallel/param_storage.h)
  weight = RegisterParameter("weight", torch::ones({dim}), info);
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  auto x32 = x.to(torch::kFloat32);
  auto variance = x32.pow(2).mean(-1, /*keepdim=*/true);  // (..., 1)
  return weight * (x32 * torch::rsqrt(variance + eps_)).to(x.scalar_type());
}

Qwen3AttentionImpl::Qwen3AttentionImpl(const ModelSpec& spec, const TpGroup& tp, int64_t window)
    : local_heads_(LocalHeads(spec.heads, tp, "model.heads")),
      local_kv_heads_(LocalHeads(spec.KvHeads(), tp, "model.kv_heads")),
      head_dim_(spec.HeadDim()),
      window_(window),
      rope_theta_(spec.rope_theta) {
  const int64_t c = spec.hidden, hd = head_dim_;
  q_proj = register_module("q_proj", ColumnParallelLinear(c, spec.heads * hd, tp));
  k_proj = register_module("k_proj", ColumnParallelLinear(c, spec.KvHeads() * hd, tp));
  v_proj = register_module("v_proj", ColumnParallelLinear(c, spec.KvHeads() * hd, tp));
  o_proj = register_module("o_proj", RowParallelLinear(spec.heads * hd, c, tp));
  // Per-head norms: each tp rank normalises only its heads, so their gradients are partial over tp.
  GroupSet per_head;
  per_head.tp = true;
  q_norm = register_module("q_norm", RmsNorm(hd, spec.norm_eps, per_head));
  k_norm = register_module("k_norm", RmsNorm(hd, spec.norm_eps, per_head));
}

torch::Tensor Qwen3AttentionImpl::forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) {
  return Attend(x, in.rope(head_dim_, rope_theta_), in.AttentionMask(window_),
                cache != nullptr ? &cache->As<KvState>() : nullptr);
}

torch::Tensor Qwen3AttentionImpl::Attend(const torch::Tensor& x, const Rope& rope, const torch::Tensor& mask,
                                         KvState* cache) {
  // The projections cover the whole sequence T, also when x holds a sequence shard (sequence parallelism).
  const torch::Tensor q_all = q_proj(x);  // (B, T, H/tp * hd)
  const int64_t b = x.size(0), t = q_all.size(1), hd = head_dim_;
  // Norm each head's vector (over head_dim) before RoPE, as Qwen3 does.
  auto q = q_norm(q_all.view({b, t, local_heads_, hd})).transpose(1, 2);         // (B, H, T, hd)
  auto k = k_norm(k_proj(x).view({b, t, local_kv_heads_, hd})).transpose(1, 2);  // (B, KV, T, hd)
  auto v = v_proj(x).view({b, t, local_kv_heads_, hd}).transpose(1, 2);          // (B, KV, T, hd)
  q = ApplyRope(q, rope);
  k = ApplyRope(k, rope);
  auto y = CachedAttention(q, k, v, mask, cache);  // (B, H, T, hd)
  return o_proj(y.transpose(1, 2).reshape({b, t, local_heads_ * hd}));  // (B, T, H*hd) -> (B, T, C)
}

Qwen3MlpImpl::Qwen3MlpImpl(int64_t hidden, int64_t ffn, const TpGroup& tp) {
  gate_proj = register_module("gate_proj", ColumnParallelLinear(hidden, ffn, tp));
  up_proj = register_module("up_proj", ColumnParallelLinear(hidden, ffn, tp));
  down_proj = register_module("down_proj", RowParallelLinear(ffn, hidden, tp));
}

torch::Tensor Qwen3MlpImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));  // inner (B, T, ffn/tp)
}

}  // namespace zen
