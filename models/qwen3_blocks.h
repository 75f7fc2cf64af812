// The pieces of a Qwen3 decoder layer, computed as Hugging Face transformers' modeling_qwen3.py does:
// RMSNorm in fp32, rotate-half RoPE, attention with per-head q/k norms before RoPE and grouped KV heads,
// and the SwiGLU MLP. Built from parallel/ layers: heads and the MLP width are split across the tp group.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "core/recipe.h"        // defines: ModelSpec
#include "models/positional.h"  // defines: Rope, MakeRope, ApplyRope, CausalMask, BlockCausalMask
#include "models/token_mixer.h"  // defines: TokenMixer, LayerInputs, LayerCache, KvState
#include "parallel/layers.h"    // defines: ColumnParallelLinear, RowParallelLinear
#include "parallel/tp_group.h"  // defines: TpGroup

namespace zen {

// An RMSNorm of either kind the decoders use (Qwen3's below, Qwen3-Next's zero-centred one in
// models/qwen3_next_blocks.h), so a decoder layer holds whichever its spec asks for under the same name.
class NormImpl : public ParamModule {
 public:
  // x: (..., dim) -> (..., dim).
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

class RmsNormImpl : public NormImpl {
 public:
  // grad_partial_over: the groups over which the scale's gradient is a partial sum (a per-head norm under
  // tensor parallelism sees only this rank's heads: {tp}).
  RmsNormImpl(int64_t dim, double eps, GroupSet grad_partial_over = {});
  // x: (..., dim) -> (..., dim): x / rms(x) in fp32, cast back to x's dtype, times weight.
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::Tensor weight;  // (dim), ones

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

// The "attention" token mixer: full, or sliding over the last `window` positions (window > 0).
class Qwen3AttentionImpl : public TokenMixer {
 public:
  Qwen3AttentionImpl(const ModelSpec& spec, const TpGroup& tp, int64_t window = 0);
  // x: (B, T, C) -> (B, T, C), with the call's RoPE and this layer's mask (window) from `in`; with
  // `cache`, its KvState (see Attend).
  torch::Tensor forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) override;
  // x: (B, T, C) -> (B, T, C). mask: undefined = causal, else (T, T) or (B, 1, T, T) bool (true = attend).
  // With `cache`, x holds the T positions after the S cached ones: its keys and values are appended to
  // the cache and attended to with it; mask is then (T, S + T), or undefined = causal over the new
  // positions (allowed when S = 0 or T = 1).
  torch::Tensor Attend(const torch::Tensor& x, const Rope& rope, const torch::Tensor& mask, KvState* cache = nullptr);

  ColumnParallelLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  RowParallelLinear o_proj{nullptr};
  RmsNorm q_norm{nullptr}, k_norm{nullptr};

 private:
  int64_t local_heads_, local_kv_heads_, head_dim_, window_;
  double rope_theta_;
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
