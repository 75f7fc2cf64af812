#include "models/cross_attention.h"

namespace zen {

MediaContext GatherMediaContext(const torch::Tensor& embeddings, const torch::Tensor& is_media) {
  const auto counts = is_media.sum(1);  // (B)
  const int64_t m = counts.max().item<int64_t>();
  if (m == 0) return {};
  // A stable sort puts each row's media positions first, in their order.
  auto order = std::get<1>(torch::sort(is_media.logical_not().to(torch::kInt), std::optional<bool>(true), 1, false));
  auto index = order.slice(1, 0, m);                                                                     // (B, M)
  auto features = embeddings.gather(1, index.unsqueeze(-1).expand({-1, -1, embeddings.size(2)}));       // (B, M, C)
  auto valid = torch::arange(m, counts.options()).unsqueeze(0).lt(counts.unsqueeze(1));                // (B, M)
  return {features, valid};
}

CrossAttentionImpl::CrossAttentionImpl(const ModelSpec& spec, const TpGroup& tp)
    : local_heads_(spec.heads / tp.size), head_dim_(spec.HeadDim()) {
  // An invariant, not an input check: CheckLayout (parallel/grid.h) refuses such a layout before any model is built.
  TORCH_CHECK(spec.heads % tp.size == 0, "model.heads (", spec.heads, ") is not divisible by the tensor-parallel size ",
              tp.size);
  const int64_t c = spec.hidden, inner = spec.heads * head_dim_;
  norm = register_module("norm", RmsNorm(c, spec.norm_eps));
  q_proj = register_module("q_proj", ColumnParallelLinear(c, inner, tp));
  k_proj = register_module("k_proj", ColumnParallelLinear(c, inner, tp));
  v_proj = register_module("v_proj", ColumnParallelLinear(c, inner, tp));
  o_proj = register_module("o_proj", RowParallelLinear(inner, c, tp));
  ParamInfo gate_info;
  gate_info.init = InitRule::kZero;  // a fresh cross-modal layer is the identity (Flamingo's tanh gates)
  attn_gate = RegisterParameter("attn_gate", torch::zeros({1}), gate_info);
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const MediaContext& media) {
  if (media.empty()) return x;
  const int64_t b = x.size(0), t = x.size(1), m = media.features.size(1), hd = head_dim_;
  auto heads = [&](const torch::Tensor& y, int64_t n) { return y.view({b, n, local_heads_, hd}).transpose(1, 2); };
  auto q = heads(q_proj(norm(x)), t);                      // (B, H, T, hd)
  auto k = heads(k_proj(media.features.to(x.dtype())), m);  // (B, H, M, hd)
  auto v = heads(v_proj(media.features.to(x.dtype())), m);
  // A row without media would attend to nothing (softmax of no keys): let it see its padding, then drop
  // its result, so no NaN reaches the backward.
  auto has_media = media.valid.any(1);                                          // (B)
  auto mask = media.valid.logical_or(has_media.logical_not().unsqueeze(1));     // (B, M)
  auto y = torch::scaled_dot_product_attention(q, k, v, mask.view({b, 1, 1, m}));  // (B, H, T, hd)
  auto out = o_proj(y.transpose(1, 2).reshape({b, t, local_heads_ * hd}));       // (B, T, C)
  out = out * has_media.view({b, 1, 1}).to(out.dtype());
  return x + torch::tanh(attn_gate).to(x.dtype()) * out;
}

}  // namespace zen
