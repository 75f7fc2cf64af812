// The pieces the Omni encoders share (CLIP's vision transformer and Whisper's audio encoder are both
// pre-LayerNorm transformers without a causal mask): bidirectional multi-head attention with biases,
// the two-linear MLP, and the projector that takes encoder features into the text model's width.
// Built from parallel/ layers: heads and the MLP width are split across the tp group.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "parallel/layers.h"    // defines: ColumnParallelLinear, RowParallelLinear
#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

enum class Activation { kQuickGelu, kGelu };  // CLIP's x * sigmoid(1.702 x); Whisper's exact (erf) GELU

torch::Tensor Activate(const torch::Tensor& x, Activation activation);

// nn.LayerNorm over the last dim as HF builds the encoders' norms (weight 1, bias 0), its parameters
// declared (ParamInfo) like every other: x (..., dim) -> (..., dim).
class LayerNormImpl : public ParamModule {
 public:
  LayerNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;  // (dim)

 private:
  int64_t dim_;
  double eps_;
};
TORCH_MODULE(LayerNorm);

LayerNorm MakeLayerNorm(int64_t dim, double eps = 1e-5);

class EncoderAttentionImpl : public torch::nn::Module {
 public:
  // k_bias: CLIP's k_proj has a bias, Whisper's has none.
  EncoderAttentionImpl(int64_t hidden, int64_t heads, const TpGroup& tp, bool k_bias);
  // x: (N, L, D) -> (N, L, D); every position attends to every other, scale 1/sqrt(head_dim).
  torch::Tensor forward(const torch::Tensor& x);

  ColumnParallelLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  RowParallelLinear out_proj{nullptr};

 private:
  int64_t local_heads_, head_dim_;
};
TORCH_MODULE(EncoderAttention);

// fc2(act(fc1(x))) with biases; fc1's output (the ffn width) is split across ranks.
class EncoderMlpImpl : public torch::nn::Module {
 public:
  EncoderMlpImpl(int64_t hidden, int64_t ffn, const TpGroup& tp, Activation activation);
  torch::Tensor forward(const torch::Tensor& x);  // (N, L, D) -> (N, L, D)

  ColumnParallelLinear fc1{nullptr};
  RowParallelLinear fc2{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(EncoderMlp);

// Encoder features into the text width, LLaVA-style: LayerNorm, Linear, GELU, Linear.
// Parameter names: norm.{weight,bias}, linear_1.{weight,bias}, linear_2.{weight,bias}.
class MediaProjectorImpl : public torch::nn::Module {
 public:
  MediaProjectorImpl(int64_t in, int64_t text_hidden, const TpGroup& tp);
  torch::Tensor forward(const torch::Tensor& x);  // (..., in) -> (..., text_hidden)

  LayerNorm norm{nullptr};
  ColumnParallelLinear linear_1{nullptr};
  RowParallelLinear linear_2{nullptr};
};
TORCH_MODULE(MediaProjector);

// Every encoder parameter's count, shared by models/param_count: a pre-LN transformer layer of width d,
// MLP width f (attention with `attn_biases` biases of d each, two LayerNorms, MLP with biases).
double EncoderLayerParams(double d, double f, double attn_biases);
double ProjectorParams(double in, double text_hidden);

}  // namespace zen
