#include "models/encoder_blocks.h"

namespace zen {

torch::Tensor Activate(const torch::Tensor& x, Activation activation) {
  if (activation == Activation::kQuickGelu) return x * torch::sigmoid(1.702 * x);
  return torch::gelu(x);
}

LayerNormImpl::LayerNormImpl(int64_t dim, double eps) : dim_(dim), eps_(eps) {
  ParamInfo scale, shift;
  scale.init = InitRule::kOne;
  shift.init = InitRule::kZero;
  scale.storage_dtype = shift.storage_dtype = torch::kFloat32;  // when trainable (parallel/param_storage.h)
  weight = RegisterParameter("weight", torch::ones({dim}), scale);
  bias = RegisterParameter("bias", torch::zeros({dim}), shift);
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {dim_}, weight, bias, eps_);  // as torch::nn::LayerNorm computes it
}

LayerNorm MakeLayerNorm(int64_t dim, double eps) { return LayerNorm(dim, eps); }

EncoderAttentionImpl::EncoderAttentionImpl(int64_t hidden, int64_t heads, const TpGroup& tp, bool k_bias)
    : head_dim_(hidden / heads) {
  TORCH_CHECK(heads % tp.size == 0, "encoder heads (", heads, ") are not divisible by the tensor-parallel size ",
              tp.size);
  local_heads_ = heads / tp.size;
  q_proj = register_module("q_proj", ColumnParallelLinear(hidden, hidden, tp, false, /*bias=*/true));
  k_proj = register_module("k_proj", ColumnParallelLinear(hidden, hidden, tp, false, k_bias));
  v_proj = register_module("v_proj", ColumnParallelLinear(hidden, hidden, tp, false, /*bias=*/true));
  out_proj = register_module("out_proj", RowParallelLinear(hidden, hidden, tp, true, /*bias=*/true));
}

torch::Tensor EncoderAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0), l = x.size(1);
  auto split = [&](const torch::Tensor& t) { return t.view({n, l, local_heads_, head_dim_}).transpose(1, 2); };
  auto y = torch::scaled_dot_product_attention(split(q_proj(x)), split(k_proj(x)), split(v_proj(x)));  // (N, H, L, hd)
  return out_proj(y.transpose(1, 2).reshape({n, l, local_heads_ * head_dim_}));
}

EncoderMlpImpl::EncoderMlpImpl(int64_t hidden, int64_t ffn, const TpGroup& tp, Activation activation)
    : activation_(activation) {
  fc1 = register_module("fc1", ColumnParallelLinear(hidden, ffn, tp, false, /*bias=*/true));
  fc2 = register_module("fc2", RowParallelLinear(ffn, hidden, tp, true, /*bias=*/true));
}

torch::Tensor EncoderMlpImpl::forward(const torch::Tensor& x) {
  return fc2(Activate(fc1(x), activation_));  // inner (N, L, ffn/tp)
}

MediaProjectorImpl::MediaProjectorImpl(int64_t in, int64_t text_hidden, const TpGroup& tp) {
  norm = register_module("norm", MakeLayerNorm(in));
  linear_1 = register_module("linear_1", ColumnParallelLinear(in, text_hidden, tp, false, /*bias=*/true));
  linear_2 = register_module("linear_2", RowParallelLinear(text_hidden, text_hidden, tp, true, /*bias=*/true));
}

torch::Tensor MediaProjectorImpl::forward(const torch::Tensor& x) {
  return linear_2(torch::gelu(linear_1(norm(x))));  // inner (..., text_hidden/tp)
}

double EncoderLayerParams(double d, double f, double attn_biases) {
  return 4 * d * d + attn_biases * d + 2 * 2 * d + d * f + f + f * d + d;
}

double ProjectorParams(double in, double text_hidden) {
  return 2 * in + in * text_hidden + text_hidden + text_hidden * text_hidden + text_hidden;
}

}  // namespace zen
