// The pieces of a Qwen3 decoder layer, computed as Hugging Face transformers' modeling_qwen3.py does:
// RMSNorm in fp32, rotate-half RoPE, attention with per-head q/k norms before RoPE and grouped KV heads,
// and the SwiGLU MLP. Built from parallel/ layers: heads and the MLP width are split across the tp group.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "core/recipe.h"        // defines: ModelSpec
#include "parallel/layers.h"    // defines: ColumnParallelLinear, RowParallelLinear
#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

class RmsNormImpl : public ParamModule {
 public:
  // grad_partial_over: the groups over which the scale's gradient is a partial sum (a per-head norm under
  // tensor parallelism sees only this rank's heads: {tp}).
  RmsNormImpl(int64_t dim, double eps, GroupSet grad_partial_over = {});
  // x: (..., dim) -> (..., dim): x / rms(x) in fp32, cast back to x's dtype, times weight.
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;  // (dim), ones

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

// cos and sin of every position's rotation angles, shaped to broadcast over heads.
struct Rope {
  torch::Tensor cos, sin;  // (B, 1, T, head_dim)
};

// positions: (B, T) int64. Angles pos / theta^(2i / head_dim) in fp32, as HF; cast to `dtype`.
Rope MakeRope(const torch::Tensor& positions, int64_t head_dim, double theta, torch::ScalarType dtype);

// x: (B, H, T, head_dim) rotated by rotate-half RoPE.
torch::Tensor ApplyRope(const torch::Tensor& x, const Rope& rope);

// Causal mask of `queries` queries against `keys` keys, the queries being the last positions (as when
// new tokens attend to a KV cache): query i, at position keys - queries + i, sees key j when j <= its
// position and, with window > 0, position - window < j (HF Qwen3's sliding window).
// Returns (queries, keys) bool, true = attend.
torch::Tensor CausalMask(int64_t queries, int64_t keys, int64_t window, const torch::Device& device);

// Sliding-window causal mask as HF Qwen3 builds it: query i sees key j when i - window < j <= i.
// Returns (T, T) bool, true = attend.
torch::Tensor SlidingWindowMask(int64_t seq_len, int64_t window, const torch::Device& device);

// Block-causal mask of packed rows: query i sees key j when j <= i and both lie in the same document.
// segments: (B, T) int64 -> (B, 1, T, T) bool, true = attend (broadcasts over heads).
torch::Tensor BlockCausalMask(const torch::Tensor& segments);

// The keys (after RoPE) and values one attention layer has computed so far in a generation.
struct LayerKv {
  torch::Tensor k, v;  // (B, KV/tp, S, head_dim); undefined until the first cached call
};

class Qwen3AttentionImpl : public torch::nn::Module {
 public:
  Qwen3AttentionImpl(const ModelSpec& spec, const TpGroup& tp);
  // x: (B, T, C) -> (B, T, C). mask: undefined = causal, else (T, T) or (B, 1, T, T) bool (true = attend).
  // With `cache`, x holds the T positions after the S cached ones: its keys and values are appended to
  // the cache and attended to with it; mask is then (T, S + T), or undefined = causal over the new
  // positions (allowed when S = 0 or T = 1).
  torch::Tensor forward(const torch::Tensor& x, const Rope& rope, const torch::Tensor& mask,
                        LayerKv* cache = nullptr);

  ColumnParallelLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  RowParallelLinear o_proj{nullptr};
  RmsNorm q_norm{nullptr}, k_norm{nullptr};

 private:
  int64_t local_heads_, local_kv_heads_, head_dim_;
};
TORCH_MODULE(Qwen3Attention);

class Qwen3MlpImpl : public torch::nn::Module {
 public:
  Qwen3MlpImpl(int64_t hidden, int64_t ffn, const TpGroup& tp);
  // x: (B, T, C) -> (B, T, C) = down(silu(gate(x)) * up(x)); the ffn dim is split across ranks.
  torch::Tensor forward(const torch::Tensor& x);

  ColumnParallelLinear gate_proj{nullptr}, up_proj{nullptr};
  RowParallelLinear down_proj{nullptr};
};
TORCH_MODULE(Qwen3Mlp);

}  // namespace zen
